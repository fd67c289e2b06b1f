/**
 * `kvctl keys --pattern "user:*"`: a glob becomes a prefix scan (the literal text before the
 * first wildcard, so the store's ordered index does the narrowing) plus a filter.
 * Syntax, as in redis KEYS: `*` any run of characters, `?` one character, `[abc]`, `[a-z]`,
 * `[!a]` / `[^a]` sets, `\x` a literal x.
 */
import { usage } from './common.js';

export interface CompiledGlob {
  prefix: string;
  /** Tests a whole key. */
  match(key: string): boolean;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export function compileGlob(pattern: string): CompiledGlob {
  let re = '';
  let prefix = '';
  let literal = true;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      if (i + 1 >= pattern.length) throw usage(`--pattern ends with a lone backslash: ${JSON.stringify(pattern)}`);
      const next = pattern[++i]!;
      re += escapeRe(next);
      if (literal) prefix += next;
    } else if (c === '*') {
      re += '[\\s\\S]*';
      literal = false;
    } else if (c === '?') {
      re += '[\\s\\S]';
      literal = false;
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw usage(`--pattern has an unclosed [ at ${i}: ${JSON.stringify(pattern)}`);
      let body = pattern.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
      literal = false;
    } else {
      re += escapeRe(c);
      if (literal) prefix += c;
    }
  }
  let compiled: RegExp;
  try {
    compiled = new RegExp(`^${re}$`, 'u');
  } catch (err) {
    throw usage(`--pattern ${JSON.stringify(pattern)} is not a valid glob: ${(err as Error).message}`);
  }
  return { prefix, match: (key) => compiled.test(key) };
}

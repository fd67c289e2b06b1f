/**
 * kvctl's data commands: get, put, del, incr and keys, through a server (--url) or on a data
 * directory (--data-dir), as the Backend abstracts them (backend.ts).
 */
import type { Command } from 'commander';
import type { Backend } from './backend.js';
import { CliError, type Format, json, positiveInt, showKey, usage } from './common.js';
import { compileGlob } from './glob.js';
import { readStdinBytes } from './secrets.js';

export interface DataContext {
  withBackend(cmd: Command, fn: (b: Backend) => Promise<void>, create?: boolean): Promise<void>;
  emit(cmd: Command, data: unknown, text: () => string): void;
  format(cmd: Command): Format;
  parseVersion(value: string): bigint;
}

const out = (s: string): void => void process.stdout.write(s);

export function addDataCommands(program: Command, ctx: DataContext): void {
  program
    .command('get')
    .description('print a value (raw bytes on stdout; --format=json for version, expiry and the value)')
    .argument('<key>', 'the key')
    .action(async (key: string, _o: unknown, cmd: Command) => {
      await ctx.withBackend(cmd, async (b) => {
        const e = await b.get(key);
        if (!e) throw new CliError('NOT_FOUND', `no such key: ${key}`);
        if (ctx.format(cmd) === 'json') {
          const text = e.value.toString('utf8');
          const utf8 = Buffer.from(text, 'utf8').equals(e.value);
          out(json({ key, version: e.version, expiresAt: e.expiresAt === undefined ? null : new Date(e.expiresAt).toISOString(), encoding: utf8 ? 'utf8' : 'base64', value: utf8 ? text : e.value.toString('base64') }));
        } else {
          process.stdout.write(e.value);
          if (process.stdout.isTTY && e.value[e.value.length - 1] !== 0x0a) out('\n');
        }
      });
    });
  program
    .command('put')
    .description('write a value, given as an argument or (when omitted) read from stdin')
    .argument('<key>', 'the key')
    .argument('[value]', 'the value (omit to read bytes from stdin)')
    .option('--ttl <seconds>', 'expire after this many seconds', positiveInt('--ttl'))
    .option('--if-version <version>', 'only if the current version is this (compare-and-swap)', ctx.parseVersion)
    .option('--if-absent', 'only if the key does not exist')
    .action(async (key: string, value: string | undefined, o: { ttl?: number; ifVersion?: bigint; ifAbsent?: boolean }, cmd: Command) => {
      if (o.ifAbsent && o.ifVersion !== undefined) throw usage('give --if-version or --if-absent, not both');
      if (value === undefined && process.stdin.isTTY) throw usage('give the value as an argument, or pipe it on stdin');
      const bytesIn = value === undefined ? await readStdinBytes() : Buffer.from(value, 'utf8');
      await ctx.withBackend(cmd, async (b) => {
        const ifVersion = o.ifAbsent ? 0n : o.ifVersion;
        const r = await b.put(key, bytesIn, { ...(o.ttl === undefined ? {} : { ttlSec: o.ttl }), ...(ifVersion === undefined ? {} : { ifVersion }) });
        ctx.emit(cmd, { key, version: r.version }, () => `OK version ${r.version}\n`);
      }, true);
    });
  program
    .command('del')
    .description('delete a key (exit 1 NOT_FOUND when it does not exist)')
    .argument('<key>', 'the key')
    .option('--if-version <version>', 'only if the current version is this', ctx.parseVersion)
    .action(async (key: string, o: { ifVersion?: bigint }, cmd: Command) => {
      await ctx.withBackend(cmd, async (b) => {
        if (!(await b.del(key, o.ifVersion))) throw new CliError('NOT_FOUND', `no such key: ${key}`);
        ctx.emit(cmd, { key, deleted: true }, () => `deleted ${key}\n`);
      });
    });
  program
    .command('incr')
    .description('add to a decimal counter (created at 0) and print the result')
    .argument('<key>', 'the key')
    .option('--by <n>', 'the increment (may be negative)', '1')
    .action(async (key: string, o: { by: string }, cmd: Command) => {
      if (!/^-?\d{1,19}$/.test(o.by)) throw usage(`--by takes an integer, got ${JSON.stringify(o.by)}`);
      await ctx.withBackend(cmd, async (b) => {
        const v = await b.incr(key, BigInt(o.by));
        ctx.emit(cmd, { key, value: v }, () => v + '\n');
      }, true);
    });
  program
    .command('keys')
    .description('list keys matching a glob (* ? [a-z] \\x): a prefix scan on the text before the first wildcard, then a filter')
    .option('--pattern <glob>', 'e.g. "user:*"', '*')
    .option('--limit <n>', 'stop after this many keys', positiveInt('--limit'))
    .action(async (o: { pattern: string; limit?: number }, cmd: Command) => {
      const glob = compileGlob(o.pattern);
      await ctx.withBackend(cmd, async (b) => {
        const keys: string[] = [];
        await b.scanKeys(glob.prefix, (k) => {
          const s = showKey(k);
          if (glob.match(k.toString('utf8'))) keys.push(s);
          return o.limit === undefined || keys.length < o.limit;
        });
        ctx.emit(cmd, keys, () => keys.map((k) => k + '\n').join(''));
      });
    });
}

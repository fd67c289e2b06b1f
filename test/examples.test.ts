/**
 * The docs' transaction and watch snippets are code that runs: each `// #region <document>`
 * of examples/txn-watch.ts must be, less its indentation, a ```ts block of that document
 * (README.md, docs/api.md), and the program must run and print what the snippets promise.
 * (examples/remote-client.ts, the client's example, is run by test/client.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';

const test = suite('examples/txn-watch.ts');
const source = fs.readFileSync(path.join(repoRoot, 'examples', 'txn-watch.ts'), 'utf8');

/** Every `// #region DOC` … `// #endregion` of the example, dedented. */
export function regions(src: string): Array<{ doc: string; code: string }> {
  const out: Array<{ doc: string; code: string }> = [];
  for (const m of src.matchAll(/^[ \t]*\/\/ #region (\S+)\n([\s\S]*?)\n[ \t]*\/\/ #endregion$/gm)) {
    const lines = m[2]!.split('\n');
    const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length));
    out.push({ doc: m[1]!, code: lines.map((l) => l.slice(indent)).join('\n') });
  }
  return out;
}

test('each region is a ```ts block of its document, verbatim', () => {
  const rs = regions(source);
  assert.equal(rs.map((r) => r.doc), ['README.md', 'docs/api.md', 'docs/api.md']);
  for (const r of rs) {
    const doc = fs.readFileSync(path.join(repoRoot, r.doc), 'utf8');
    assert.ok(doc.includes('```ts\n' + r.code + '\n```\n'), `${r.doc} has no \`\`\`ts block equal to this region of examples/txn-watch.ts:\n${r.code}`);
  }
});

test('the regions find drift: a changed line no longer matches', () => {
  const r = regions(source)[0]!;
  const doc = fs.readFileSync(path.join(repoRoot, r.doc), 'utf8');
  assert.not.ok(doc.includes('```ts\n' + r.code.replace("'9'", "'8'") + '\n```\n'));
});

test('the program runs and prints what the snippets say', () => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'examples', 'txn-watch.js'), tempDir('example-txn-watch')], {
    encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH ?? '' }, // no FORCE_COLOR: console.log would colour `true` and bigints
  });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  // README: the transaction succeeded; the feed replays the first put of stock:42, then the
  // transaction's put, and stops there.
  assert.is(lines[0], 'true');
  assert.match(lines[1]!, /^put stock:42 \d+n?$/);
  assert.match(lines[2]!, /^put stock:42 \d+n?$/);
  // docs/api.md txn: nobody wrote between getEntry and txn, so the success branch ran.
  assert.is(lines[3], 'txn: succeeded true, results put, incr 2, get 2');
  // docs/api.md watch: the batch's two puts, then the delete, where `done` stops it.
  assert.match(lines[4]!, /^watch: stopped at version \d+$/);
  assert.is(lines.length, 5, r.stdout);
});

test.run();

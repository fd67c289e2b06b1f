/**
 * The docs' transaction and watch snippets are code that runs: each `// #region <document>`
 * of examples/txn-watch.ts must be, less its indentation, a ```ts block of that document
 * (README.md, docs/api.md), and the program must run and print what the snippets promise.
 * docs/http.md's transaction body is sent as written to a real kvstored, and its SSE stream
 * is compared, line by line (numbers aside), with what kvstored streams.
 * (examples/remote-client.ts, the client's example, is run by test/client.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repoRoot, tempDir } from './helpers.js';
import { loginToken, startKvstored } from './kvstored-child.js';

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

const http = suite('docs/http.md examples against kvstored');

/** The first fenced block (of `lang`, '' for a bare fence) after `heading` in docs/http.md. */
function blockAfter(heading: string, lang: string): string {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'http.md'), 'utf8');
  const at = doc.indexOf(heading);
  assert.ok(at >= 0, `docs/http.md has no ${heading}`);
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(doc.slice(at));
  assert.ok(m, `no \`\`\`${lang} block after ${heading}`);
  return m[1]!;
}

http('the POST /v1/txn body is accepted as written, and the SSE stream looks as shown', async () => {
  const s = await startKvstored([], { grpc: false });
  try {
    const auth = { authorization: `Bearer ${await loginToken(s.url)}` };
    // The transaction: on an empty store its compares fail (stock:42 is not at version 1187),
    // so the failure branch, a get of the absent stock:42, runs and nothing is written.
    const body = blockAfter('## Transactions', 'json');
    const r = await fetch(`${s.url}/v1/txn`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    assert.is(r.status, 200, await r.clone().text());
    assert.equal(await r.json(), { succeeded: false, version: '0', results: [{ op: 'get', found: false }] });
    // The same request once its compares hold: every result kind of the answer shown.
    const answer = /The\s+answer:\s+`([^`]+)`/.exec(fs.readFileSync(path.join(repoRoot, 'docs', 'http.md'), 'utf8'))![1]!;
    const shown = JSON.parse(answer.replace(/\s+/g, ' ')) as { results: Array<{ op: string }> };
    const holds = JSON.parse(body) as { compare: Array<Record<string, unknown>> };
    holds.compare = [{ key: 'stock:42', op: '=', version: '0' }];
    assert.is((await fetch(`${s.url}/v1/kv/cart%3A7`, { method: 'PUT', headers: auth, body: 'x' })).status, 200);
    const ok = await fetch(`${s.url}/v1/txn`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(holds) });
    const got = (await ok.json()) as { succeeded: boolean; results: Array<{ op: string }> };
    assert.is(got.succeeded, true);
    assert.equal(got.results.map((x) => Object.keys(x).sort()), shown.results.map((x) => Object.keys(x).sort()));

    // The watch: the stream's first lines and one change, in the shape the block shows.
    const sse = blockAfter('## Watch (Server-Sent Events)', '');
    const ac = new AbortController();
    const res = await fetch(`${s.url}/v1/watch?prefix=order:`, { headers: auth, signal: ac.signal });
    assert.is(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const until = async (re: RegExp): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!re.test(text) && Date.now() < deadline) {
        const c = await reader.read();
        if (c.done) break;
        text += Buffer.from(c.value).toString('utf8');
      }
    };
    await until(/event: ready\n/);
    await fetch(`${s.url}/v1/kv/order%3A7`, { method: 'PUT', headers: auth, body: 'paid' });
    await until(/event: change\ndata: .*\n\n/);
    ac.abort();
    const lines = (t: string): string[] => t.split('\n').slice(0, 7).map((l) => l.replace(/\d+/g, 'N').replace(/"value":"[^"]*"/, '"value":V'));
    assert.equal(lines(text), lines(sse));
  } finally {
    assert.is(await s.stop(), 0);
  }
});

http.run();

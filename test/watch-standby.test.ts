/**
 * Watch on a standby: an embedded replica of a real kvstored primary, and a kvstored standby
 * over HTTP (SSE), serve watches from the records they received (the engine appends them to
 * its own WAL, which the watch reads), with the primary's versions, batches together, and
 * `_sys.` (the catalog the primary replicates too) left out.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type WatchEvent } from '../ts/index.js';
import { ENGINES, tempDir } from './helpers.js';
import { killAll, startNode, startPrimary, synced } from './repl-cluster.js';

const test = suite('watch on a standby');
test.after.each(killAll);

test(`${ENGINES[0]}: a replica's watcher sees the primary's writes, with the primary's versions`, async () => {
  const engine = ENGINES[0]!;
  const { primary, creds } = await startPrimary({ engine });
  const replica = await open({ dir: tempDir('watch-r'), engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'w', onLog: () => undefined });
  try {
    const w = replica.watch({}, { fromVersion: 1n });
    const put = await primary.api('PUT', '/v1/kv/s%2Fa', { key: creds.admin, raw: 'A' });
    assert.is(put.status, 200);
    const version = BigInt(put.json<{ version: string }>().version);
    const b = await primary.api('POST', '/v1/batch', { key: creds.admin, body: { ops: [{ op: 'put', key: 's/b', value: 'B' }, { op: 'del', key: 's/a' }] } });
    assert.is(b.status, 200);
    const got: WatchEvent[] = [];
    const deadline = Date.now() + 20_000;
    const it = w[Symbol.asyncIterator]();
    while (got.filter((e) => e.key.toString().startsWith('s/')).length < 3) {
      const r = await Promise.race([it.next(), new Promise<'late'>((res) => setTimeout(() => res('late'), Math.max(1, deadline - Date.now())))]);
      if (r === 'late' || r.done) throw new Error(`only ${got.length} events`);
      got.push(r.value);
    }
    w.close();
    assert.ok(got.every((e) => !e.key.toString().startsWith('_sys.')), 'no catalog key');
    const mine = got.filter((e) => e.key.toString().startsWith('s/'));
    assert.equal(mine.map((e) => [e.type, e.key.toString()]), [['put', 's/a'], ['put', 's/b'], ['del', 's/a']]);
    assert.is(mine[0]!.version, version, "the primary's version");
    assert.is(mine[1]!.version, mine[2]!.version, 'a batch together');
  } finally {
    await replica.close();
  }
});

test(`${ENGINES[0]}: a kvstored standby serves GET /v1/watch (SSE) from the replicated stream, with the primary's versions`, async () => {
  const engine = ENGINES[0]!;
  const { primary, creds } = await startPrimary({ engine });
  const standby = await startNode(tempDir('watch-sb'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 'sse' });
  const first = await primary.api('PUT', '/v1/kv/q%2F0', { key: creds.admin, raw: '0' });
  assert.is(first.status, 200);
  await synced(standby, primary, creds.admin);
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 20_000);
  try {
    const res = await fetch(`${standby.url}/v1/watch?prefix=q%2F`, { headers: { 'x-api-key': creds.admin }, signal: stop.signal });
    assert.is(res.status, 200, 'the standby serves the watch itself');
    const reader = res.body!.getReader();
    let text = '';
    const next = async (until: (t: string) => boolean): Promise<void> => {
      while (!until(text)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await next((t) => t.includes('event: ready'));
    const put = await primary.api('PUT', '/v1/kv/q%2Fa', { key: creds.admin, raw: 'A' });
    const version = put.json<{ version: string }>().version;
    const b = await primary.api('POST', '/v1/batch', { key: creds.admin, body: { ops: [{ op: 'put', key: 'q/b', value: 'B' }, { op: 'del', key: 'q/a' }] } });
    assert.is(b.status, 200);
    const batchVersion = b.json<{ version: string }>().version;
    await next((t) => (t.match(/event: change/g) ?? []).length >= 2);
    const changes = [...text.matchAll(/id: (\d+)\nevent: change\ndata: (.*)\n/g)].map((m) => ({ id: m[1]!, body: JSON.parse(m[2]!) as { version: string; events: Array<{ type: string; key: string }> } }));
    assert.equal(changes.map((c) => c.id), [version, batchVersion], "ids are the primary's versions");
    assert.equal(changes[0]!.body.events.map((e) => [e.type, e.key]), [['put', 'q/a']]);
    assert.equal(changes[1]!.body.events.map((e) => [e.type, e.key]), [['put', 'q/b'], ['del', 'q/a']], 'a batch in one message');
    assert.not.match(text, '_sys.');
    await reader.cancel();
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
});

test.run();

/**
 * Watch on a standby: an embedded replica of a real kvstored primary serves watches from the
 * records it received (its engine appends them to its own WAL, which the watch reads), with
 * the primary's versions, batches together, and `_sys.` (the catalog the primary replicates
 * too) left out.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, type WatchEvent } from '../ts/index.js';
import { ENGINES, tempDir } from './helpers.js';
import { killAll, startPrimary } from './repl-cluster.js';

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

test.run();

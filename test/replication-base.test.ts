/**
 * Base backups (issue 14: "a standby too far behind first receives a base backup"): the
 * primary runs with small WAL segments and frequent automatic checkpoints, so its early WAL
 * is gone. A new standby started then, and a standby stopped long enough for the primary to
 * drop the WAL it needs, both bootstrap from the newest snapshot plus the WAL from its redo
 * LSN (writes going on meanwhile), and end identical to the primary. The second one crosses
 * engines when both are built (a snapshot written by one engine installed into the other).
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SEGMENT_RE } from '../ts/engine/format.js';
import { type EngineName, ENGINES, tempDir } from './helpers.js';
import { type KvNode, assertSameDump, caughtUp, dumpDir, flushedLsn, killAll, startNode, startPrimary, stopPrimaryThenStandby } from './repl-cluster.js';
import { runLoad } from './repl-load.js';

const test = suite('replication: base backup');
test.after.each(killAll);

/** 64 KiB segments; a checkpoint after every 128 KiB of WAL (old segments then go). */
const SMALL = ['--wal-segment-bytes', '65536', '--checkpoint-wal-bytes', '131072'];

/** The first LSN the directory's WAL still holds. */
function oldestLsn(dir: string): bigint {
  const first = fs.readdirSync(path.join(dir, 'wal')).filter((f) => SEGMENT_RE.test(f)).sort()[0]!;
  return BigInt(`0x${first.slice(0, 16)}`);
}

async function bulk(node: KvNode, key: string, prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await node.api('PUT', `/v1/kv/${prefix}-${i % 50}`, { key, raw: `${prefix}-${i}-`.padEnd(4000, 'z') });
    assert.is(r.status, 200, r.text);
  }
}

for (const engine of ENGINES) {
  test(`${engine}: a new standby after the primary checkpointed its early WAL away bootstraps from a base backup under load and converges`, async () => {
    const { primary, creds } = await startPrimary({ engine, args: SMALL });
    await bulk(primary, creds.admin, 'early', 120);
    assert.ok(oldestLsn(primary.dir) > 1n, 'the primary dropped its first segments');
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const load = runLoad(primary, creds.admin, { ms: 20_000, clients: 4, stop });
    const standby = await startNode(tempDir('repl-s'), { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1', args: SMALL });
    await new Promise((r) => setTimeout(r, 500));
    release();
    assert.ok((await load).ok > 0);
    const s = await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
    assert.is(s.receiver?.baseBackups, 1, JSON.stringify(s.receiver));
    const p = await primary.replication(creds.admin);
    assert.is(p.standbys.find((b) => b.id === 's1')?.baseBackups, 1);
    await stopPrimaryThenStandby(primary, standby, creds.admin);
    const at = Date.now();
    assertSameDump(await dumpDir(primary.dir, engine, at), await dumpDir(standby.dir, engine, at), 'primary vs bootstrapped standby');
  });
}

const pe: EngineName = ENGINES[0]!;
const se: EngineName = ENGINES.at(-1)!;
test(`${pe} primary, ${se} standby: a standby stopped while the primary dropped the WAL it needs catches up through a base backup`, async () => {
  const { primary, creds } = await startPrimary({ engine: pe, args: SMALL });
  const sdir = tempDir('repl-s');
  let standby = await startNode(sdir, { engine: se, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1', args: SMALL });
  await bulk(primary, creds.admin, 'first', 20);
  await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is(await standby.stop(), 0, standby.tail());
  const needs = (await flushedLsn(primary, creds.admin)) + 1n;
  await bulk(primary, creds.admin, 'meanwhile', 120);
  assert.ok(oldestLsn(primary.dir) > needs, `the primary dropped the WAL from LSN ${needs} (oldest now ${oldestLsn(primary.dir)})`);
  standby = await startNode(sdir, { engine: se, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1', args: SMALL });
  const s = await caughtUp(standby, creds.admin, await flushedLsn(primary, creds.admin));
  assert.is(s.receiver?.baseBackups, 1, JSON.stringify(s.receiver));
  assert.is((await standby.api('GET', '/v1/kv/meanwhile-49', { key: creds.admin })).status, 200);
  await stopPrimaryThenStandby(primary, standby, creds.admin);
  const at = Date.now();
  assertSameDump(await dumpDir(primary.dir, pe, at), await dumpDir(sdir, se, at), 'primary vs caught-up standby');
});

test.run();

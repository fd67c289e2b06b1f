/**
 * kill -9 in the middle of the stream (issue 14, "Tests"): a standby killed and restarted
 * several times under load, and a primary killed and restarted on the same port, resume
 * where they stopped. At the end the standby's WAL is the primary's, record for record
 * (same bytes at the same LSNs, one gap-free run: nothing skipped, nothing twice), and the
 * two directories hold identical entries. ROUNDS (env KVSTORE_REPL_ROUNDS) sets the rounds.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type EngineName, ENGINES, tempDir } from './helpers.js';
import { type KvNode, assertSameDump, assertWalFollows, caughtUp, confirmedBy, dumpDir, flushedLsn, freePort, killAll, lastWalLsn, sleep, startNode, startPrimary, walRecords } from './repl-cluster.js';
import { runLoad } from './repl-load.js';

const ROUNDS = Number(process.env.KVSTORE_REPL_ROUNDS ?? 2);
const test = suite('replication: kill -9');
test.after.each(killAll);

/** Runs the load until `stop` resolves (at most 60 s). */
function background(node: () => KvNode, key: string, stop: Promise<void>, prefix: string): Promise<number> {
  return (async () => {
    let ok = 0;
    let round = 0;
    let done = false;
    void stop.then(() => (done = true));
    const t0 = Date.now();
    while (!done && Date.now() - t0 < 60_000) {
      const n = node();
      if (!n.alive) {
        await sleep(50);
        continue;
      }
      ok += (await runLoad(n, key, { ms: 400, clients: 4, prefix: `${prefix}${round++}`, stop })).ok;
    }
    return ok;
  })();
}

/**
 * The end of a kill test: the standby catches up; every record in its WAL, from LSN 1, is
 * the primary's record of that LSN byte for byte (compared while both run: a clean stop
 * checkpoints the primary's old segments away); then the primary stops cleanly, the standby
 * gets its last records too and is killed, and both directories are compared entry by entry.
 */
async function finish(engine: EngineName, primary: KvNode, standby: KvNode, key: string): Promise<void> {
  const flushed = await flushedLsn(primary, key);
  const s = await caughtUp(standby, key, flushed);
  assert.is(s.receiver?.lastError ?? null, null, JSON.stringify(s.receiver));
  const records = walRecords(standby.dir);
  assert.is([...records.keys()][0], 1n, "the standby's WAL starts at LSN 1");
  assert.is(assertWalFollows(standby.dir, primary.dir, flushed), records.size, 'every record of the standby compared with the primary');
  assert.is(await primary.stop(), 0, primary.tail());
  await caughtUp(standby, key, lastWalLsn(primary.dir));
  await standby.kill9();
  const at = Date.now();
  assertSameDump(await dumpDir(primary.dir, engine, at), await dumpDir(standby.dir, engine, at), 'primary vs standby');
}

for (const engine of ENGINES) {
  test(`${engine}: a standby killed -9 mid-stream ${ROUNDS} times resumes without gaps or duplicates`, async () => {
    const { primary, creds } = await startPrimary({ engine });
    const sdir = tempDir('repl-s');
    const start = (): Promise<KvNode> => startNode(sdir, { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
    let standby = await start();
    let release!: () => void;
    const stop = new Promise<void>((r) => (release = r));
    const load = background(() => primary, creds.admin, stop, 'k');
    try {
      for (let round = 0; round < ROUNDS; round++) {
        await sleep(250 + Math.floor(Math.random() * 400));
        const before = BigInt((await standby.replication(creds.admin)).appliedLsn);
        await standby.kill9();
        standby = await start();
        // It reconnects and moves past where it was killed (the load keeps writing).
        await standby.waitStatus(creds.admin, (s) => s.receiver?.connected === true && BigInt(s.appliedLsn) > before, `round ${round}: streaming past ${before}`);
      }
    } finally {
      release();
    }
    assert.ok((await load) > 100, 'the load did work');
    await finish(engine, primary, standby, creds.admin);
  });

  test(`${engine}: a primary killed -9 mid-stream ${ROUNDS} times and restarted: the standby follows on, identical`, async () => {
    const port = await freePort();
    let { primary, creds } = await startPrimary({ engine, port });
    const pdir = primary.dir;
    const sdir = tempDir('repl-s');
    const standby = await startNode(sdir, { engine, replicaOf: primary.url, apiKey: creds.replicator, standbyId: 's1' });
    for (let round = 0; round < ROUNDS; round++) {
      let release!: () => void;
      const stop = new Promise<void>((r) => (release = r));
      const current = primary;
      const load = background(() => current, creds.admin, stop, `p${round}-`);
      await sleep(300 + Math.floor(Math.random() * 400));
      await primary.kill9();
      release();
      await load;
      primary = await startNode(pdir, { engine, port });
      // The standby reconnects to the restarted primary and confirms everything it has.
      await confirmedBy(primary, creds.admin, 's1', await flushedLsn(primary, creds.admin));
    }
    await finish(engine, primary, standby, creds.admin);
  });
}

test.run();

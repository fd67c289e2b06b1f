/**
 * kill -9 in the middle of the stream (issue 14, "Tests"): a standby killed and restarted
 * several times under load, and a primary killed and restarted on the same port, resume
 * where they stopped. At the end the standby's WAL is the primary's, record for record
 * (same bytes at the same LSNs, one gap-free run: nothing skipped, nothing twice), and the
 * two directories hold identical entries. ROUNDS (env KVSTORE_REPL_ROUNDS) sets the rounds.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ENGINES, tempDir } from './helpers.js';
import { type KvNode, assertSameDump, assertWalFollows, caughtUp, confirmedBy, dumpDir, flushedLsn, freePort, killAll, sleep, startNode, startPrimary } from './repl-cluster.js';
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
    const last = await flushedLsn(primary, creds.admin);
    const s = await caughtUp(standby, creds.admin, last);
    assert.is(s.receiver?.lastError ?? null, null, JSON.stringify(s.receiver));
    // Killed, not stopped: the WAL files stay as they were streamed (no close checkpoint).
    await standby.kill9();
    await primary.kill9();
    assert.ok(assertWalFollows(sdir, primary.dir, last) > 0, "records compared");
    const at = Date.now();
    assertSameDump(await dumpDir(primary.dir, engine, at), await dumpDir(sdir, engine, at), 'primary vs standby');
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
    const last = await flushedLsn(primary, creds.admin);
    await caughtUp(standby, creds.admin, last);
    await standby.kill9();
    await primary.kill9();
    assertWalFollows(sdir, pdir, last);
    const at = Date.now();
    assertSameDump(await dumpDir(pdir, engine, at), await dumpDir(sdir, engine, at), 'primary vs standby');
  });
}

test.run();

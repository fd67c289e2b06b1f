/**
 * store.txn (ts/store/txn.ts) on both engines: every compare kind and op, both branches,
 * results, one WAL record per transaction, bad input refused with data unchanged, no lost
 * update with concurrent read-compare-write loops from several threads sharing one native
 * engine, no torn read by a concurrent scan, and all-or-nothing across kill -9.
 */
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Store, open } from '../ts/index.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';
import { sleep, startChild } from './proc.js';

const workerUrl = new URL('./children/txn-worker.js', import.meta.url);
function runWorker<T>(workerData: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

const s = (b: Buffer | undefined): string | undefined => b?.toString();

for (const engine of ENGINES) {
  const test = suite(`txn [${engine}]`);
  let db: Store;
  test.before.each(async () => {
    db = await open({ dir: tempDir('txn'), engine, onLog: () => undefined });
  });
  test.after.each(async () => {
    await db.close();
  });

  test('every compare kind on version, value and exists picks the right branch', async () => {
    const { version: v } = await db.put('a', 'm');
    const cases: Array<[Parameters<Store['txn']>[0]['compare'], boolean]> = [
      [[{ key: 'a', op: '=', version: v }], true], [[{ key: 'a', op: '=', version: v + 1n }], false],
      [[{ key: 'a', op: '!=', version: v }], false], [[{ key: 'a', op: '!=', version: v + 5n }], true],
      [[{ key: 'a', op: '<', version: v + 1n }], true], [[{ key: 'a', op: '<', version: v }], false],
      [[{ key: 'a', op: '>', version: v - 1n }], true], [[{ key: 'a', op: '>', version: v }], false],
      [[{ key: 'nope', op: '=', version: 0n }], true], [[{ key: 'nope', op: '>', version: 0n }], false],
      [[{ key: 'a', op: '=', value: 'm' }], true], [[{ key: 'a', op: '=', value: 'n' }], false],
      [[{ key: 'a', op: '!=', value: 'n' }], true], [[{ key: 'a', op: '!=', value: 'm' }], false],
      [[{ key: 'a', op: '<', value: 'n' }], true], [[{ key: 'a', op: '<', value: 'l' }], false],
      [[{ key: 'a', op: '>', value: 'l' }], true], [[{ key: 'a', op: '>', value: 'mm' }], false],
      [[{ key: 'nope', op: '!=', value: 'x' }], false], // a value compare on an absent key is false (etcd)
      [[{ key: 'a', op: '=', exists: true }], true], [[{ key: 'a', op: '=', exists: false }], false],
      [[{ key: 'nope', op: '!=', exists: true }], true], [[{ key: 'nope', op: '=', exists: true }], false],
      [[{ key: 'a', op: '=', exists: true }, { key: 'nope', op: '=', exists: true }], false],
      [[], true],
    ];
    for (const [compare, want] of cases) {
      const r = await db.txn({ compare, success: [{ type: 'get', key: 'a' }], failure: [] });
      assert.is(r.succeeded, want, JSON.stringify(compare, (_, x) => (typeof x === 'bigint' ? String(x) : x)));
      assert.is(r.results.length, want ? 1 : 0);
      assert.is(r.version, 0n, 'a branch that writes nothing writes no record');
    }
  });

  test('both branches run their ops in order, as one WAL record with one version', async () => {
    await db.put('n', '41');
    await db.put('gone', 'x');
    const before = db.stats().nextLsn;
    const ok = await db.txn({
      compare: [{ key: 'n', op: '=', value: '41' }],
      success: [
        { type: 'incr', key: 'n' }, { type: 'get', key: 'n' }, { type: 'put', key: 'p', value: 'v', ttlMs: 60_000 },
        { type: 'del', key: 'gone' }, { type: 'del', key: 'never' }, { type: 'incr', key: 'n', by: 10n }, { type: 'get', key: 'gone' },
      ],
      failure: [{ type: 'put', key: 'wrong', value: 'x' }],
    });
    assert.is(ok.succeeded, true);
    assert.is(db.stats().nextLsn, before + 1n, 'one record');
    assert.equal(ok.results.map((r) => r.type), ['incr', 'get', 'put', 'del', 'del', 'incr', 'get']);
    assert.equal(ok.results[0], { type: 'incr', value: 42n });
    assert.equal(ok.results[1], { type: 'get', value: Buffer.from('42'), version: ok.version }, 'a get sees the writes before it in the same txn');
    assert.equal(ok.results[2], { type: 'put', version: ok.version });
    assert.equal(ok.results[3], { type: 'del', deleted: true });
    assert.equal(ok.results[4], { type: 'del', deleted: false });
    assert.equal(ok.results[5], { type: 'incr', value: 52n });
    assert.equal(ok.results[6], { type: 'get', value: undefined, version: 0n });
    assert.is(s(db.get('n')), '52');
    assert.is(db.getEntry('n')!.version, ok.version);
    assert.ok(db.getEntry('p')!.expiresAt! > Date.now());
    assert.is(db.get('gone'), undefined);
    assert.is(db.get('wrong'), undefined);

    const no = await db.txn({ compare: [{ key: 'n', op: '=', value: '41' }], success: [{ type: 'put', key: 'wrong', value: 'x' }], failure: [{ type: 'put', key: 'f', value: 'ran' }, { type: 'get', key: 'n' }] });
    assert.is(no.succeeded, false);
    assert.is(s(db.get('f')), 'ran');
    assert.is(db.get('wrong'), undefined);
    assert.equal(no.results[1], { type: 'get', value: Buffer.from('52'), version: ok.version });
  });

  test('bad input is refused with a stable code and changes nothing', async () => {
    await db.put('k', 'v');
    await db.put('txt', 'not a number');
    const before = db.stats().nextLsn;
    const bad: Array<[string, unknown]> = [
      ['INVALID_ARGUMENT', null], ['INVALID_ARGUMENT', []], ['UNKNOWN_OPTION', { compar: [] }],
      ['INVALID_ARGUMENT', { compare: {} }], ['INVALID_ARGUMENT', { compare: [{ key: 'k', op: '==', version: 1n }] }],
      ['INVALID_ARGUMENT', { compare: [{ key: 'k', op: '=' }] }], ['INVALID_ARGUMENT', { compare: [{ key: 'k', op: '=', version: 1n, value: 'v' }] }],
      ['INVALID_ARGUMENT', { compare: [{ key: 'k', op: '=', version: 1 }] }], ['INVALID_ARGUMENT', { compare: [{ key: 'k', op: '<', exists: true }] }],
      ['UNKNOWN_OPTION', { compare: [{ key: 'k', op: '=', version: 1n, ttl: 1 }] }],
      ['INVALID_ARGUMENT', { success: [{ type: 'cas', key: 'k' }] }], ['UNKNOWN_OPTION', { success: [{ type: 'get', key: 'k', value: 'x' }] }],
      ['INVALID_ARGUMENT', { success: [{ type: 'put', key: 'k', value: 'x', ttlMs: -1 }] }], ['INVALID_ARGUMENT', { success: [{ type: 'incr', key: 'k', by: 1 }] }],
      ['RESERVED_KEY', { success: [{ type: 'put', key: 'k', value: 'x' }, { type: 'put', key: '_sys.users', value: 'x' }] }],
      ['RESERVED_KEY', { compare: [{ key: '_sys.x', op: '=', exists: true }] }], ['INVALID_ARGUMENT', { success: [{ type: 'put', key: '', value: 'x' }] }],
      ['KEY_TOO_LARGE', { success: [{ type: 'get', key: 'x'.repeat(5000) }] }],
      ['INVALID_ARGUMENT', { success: Array.from({ length: 1001 }, () => ({ type: 'get', key: 'k' })) }],
      ['NOT_A_NUMBER', { success: [{ type: 'put', key: 'k', value: 'changed' }, { type: 'incr', key: 'txt' }] }],
      ['NOT_A_NUMBER', { success: [{ type: 'put', key: 'big', value: '9223372036854775807' }, { type: 'incr', key: 'big' }] }],
    ];
    for (const [code, req] of bad) await rejectsWith(code, () => db.txn(req as never));
    assert.is(db.stats().nextLsn, before, 'nothing written');
    assert.is(s(db.get('k')), 'v');
    assert.is(db.get('big'), undefined);
  });

  test('a txn against a write not yet durable waits for it (the compare sees the newest write)', async () => {
    const { version } = await db.put('c', '0');
    const pending = db.put('c', '1'); // not awaited: under `always` not yet visible to get()
    const r = await db.txn({ compare: [{ key: 'c', op: '=', version }], success: [{ type: 'put', key: 'c', value: 'stale' }] });
    await pending;
    assert.is(r.succeeded, false);
    assert.is(s(db.get('c')), '1');
  });

  test('concurrent read-compare-write loops lose no update', async () => {
    const N = 150;
    const lanes = Array.from({ length: 6 }, async () => {
      for (let i = 0; i < N / 6; i++) {
        for (let attempt = 0; ; attempt++) {
          if (attempt > 10_000) throw new Error('no progress');
          const cur = db.getEntry('ctr');
          const n = cur === undefined ? 0 : Number(cur.value.toString());
          const r = await db.txn({ compare: [{ key: 'ctr', op: '=', version: cur?.version ?? 0n }], success: [{ type: 'put', key: 'ctr', value: String(n + 1) }] });
          if (r.succeeded) break;
        }
      }
    });
    await Promise.all(lanes);
    assert.is(s(db.get('ctr')), String(N));
  });

  test.run();
}

if (ENGINES.includes('native')) {
  const test = suite('txn across worker_threads [native]');
  test('4 threads × 4 lanes of incr-via-txn on one counter: no update lost', async () => {
    const dir = tempDir('txn-threads');
    const OPS = 60;
    const db = await open({ dir, engine: 'native', onLog: () => undefined });
    const reports = await Promise.all(Array.from({ length: 4 }, (_, id) => runWorker<{ retries: number; errors: string[] }>({ mode: 'incr', dir, engine: 'native', id, ops: OPS })));
    for (const r of reports) assert.equal(r.errors, []);
    assert.is(db.get('ctr')?.toString(), String(4 * OPS));
    console.log(`  4 threads: ${4 * OPS} increments, ${reports.reduce((a, r) => a + r.retries, 0)} failed compares retried`);
    await db.close();
  });
  test('a scan in another thread never sees part of a transaction', async () => {
    const dir = tempDir('txn-iso');
    const db = await open({ dir, engine: 'native', onLog: () => undefined });
    await db.txn({ success: Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: `t/${i}`, value: '0' })) });
    const [w, r] = await Promise.all([
      runWorker<{ rounds: number }>({ mode: 'write', dir, engine: 'native', rounds: 300 }),
      runWorker<{ scans: number; torn: number; distinct: number }>({ mode: 'read', dir, engine: 'native', ms: 1500 }),
    ]);
    assert.is(w.rounds, 300);
    assert.is(r.torn, 0, `${r.torn} of ${r.scans} scans saw a partial transaction`);
    assert.ok(r.distinct > 1, `the reader saw the writes move (${r.distinct} distinct values in ${r.scans} scans)`);
    await db.close();
  });
  test.run();
}

for (const engine of ENGINES) {
  const test = suite(`txn atomic across kill -9 [${engine}]`);
  test('every transaction is all or nothing; every acknowledged one survives', async () => {
    const dir = tempDir('txn-crash');
    let n = 0n;
    for (let round = 0; round < 6; round++) {
      const child = startChild('txn-crash-writer', [dir, engine]);
      try {
        await child.waitFor((l) => l.includes('"ready"'));
        await sleep(150 + Math.floor(Math.random() * 300));
      } finally {
        await child.kill();
      }
      const lines = child.lines().filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { t: string; r?: number });
      const acked = lines.filter((l) => l.t === 'a').length;
      const submitted = lines.filter((l) => l.t === 's').length;
      const db = await open({ dir, engine, onLog: () => undefined });
      const values = Array.from({ length: 20 }, (_, i) => db.get(`x/${i}`)?.toString() ?? '');
      const after = BigInt(db.get('n')?.toString() ?? '0');
      await db.close();
      assert.ok(values.every((v) => v === values[0]), `round ${round}: x/* torn: ${values.map((v) => v.split(':')[0]).join(',')}`);
      assert.ok(after >= n + BigInt(acked), `round ${round}: n=${after}, was ${n}, ${acked} acknowledged`);
      assert.ok(after <= n + BigInt(submitted), `round ${round}: n=${after} > ${n} + ${submitted} submitted`);
      n = after;
    }
    assert.ok(n > 0n, 'some transactions committed');
  });
  test.run();
}

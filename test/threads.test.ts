/**
 * worker_threads: the native engine is shared by every thread of a process that opens the
 * same directory; the pure-TS engine is not, so a worker that opens a directory this
 * thread holds gets LOCKED. The shared-engine suite needs 'native' in ENGINES (and then
 * fails, not skips, when the addon does not load).
 */
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open } from '../ts/index.js';
import { ENGINES, type EngineName, tempDir } from './helpers.js';

const workerUrl = new URL('./children/thread-worker.js', import.meta.url);

function runWorker<T>(workerData: Record<string, unknown>): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData });
    let result: T | undefined;
    w.on('message', (m: T) => void (result = m));
    w.on('error', reject);
    w.on('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`worker exited ${code} without a result`))));
  });
}

interface Report {
  sums: string[];
  puts: Array<[string, string, string]>;
  errors: string[];
}

if (ENGINES.includes('native')) {
  const test = suite('shared native engine across worker_threads');
  const WORKERS = 4;
  const OPS = 4000;
  let dir = '';
  let reports: Report[] = [];

  test.before(async () => {
    dir = tempDir('threads');
    reports = await Promise.all(Array.from({ length: WORKERS }, (_, id) => runWorker<Report>({ mode: 'write', dir, engine: 'native', id, ops: OPS })));
  });

  test('no worker saw a write fail', () => {
    assert.equal(reports.flatMap((r) => r.errors), []);
  });

  test('after reopen each counter equals the sum of acknowledged increments', async () => {
    const db = await open({ dir, engine: 'native', onLog: () => undefined });
    const want = [0, 1, 2, 3].map((c) => String(reports.reduce((s, r) => s + BigInt(r.sums[c]!), 0n)));
    assert.equal([0, 1, 2, 3].map((c) => db.get(`c:${c}`)?.toString()), want);
    await db.close();
  });

  test('after reopen each key holds the acknowledged put with the highest version', async () => {
    const last = new Map<string, [string, bigint]>();
    for (const [k, v, ver] of reports.flatMap((r) => r.puts)) if (BigInt(ver) > (last.get(k)?.[1] ?? 0n)) last.set(k, [v, BigInt(ver)]);
    const db = await open({ dir, engine: 'native', onLog: () => undefined });
    const got = [...last.keys()].map((k) => { const e = db.getEntry(k); return [k, e?.value.toString(), e?.version]; });
    assert.equal(got, [...last].map(([k, [v, ver]]) => [k, v, ver]));
    await db.close();
  });

  test('versions handed out to different threads are unique', () => {
    const versions = reports.flatMap((r) => r.puts.map(([, , ver]) => ver));
    assert.is(new Set(versions).size, versions.length);
    assert.is(versions.length, (WORKERS * OPS) / 2);
  });

  test.run();
} else {
  console.log(`  threads: shared native engine suite skipped, 'native' is not in KVSTORE_TEST_ENGINES (${ENGINES.join(',')})`);
}

for (const held of ENGINES) {
  const test = suite(`worker_threads LOCK [held by ${held} in the main thread]`);

  test("a pure-TS ('js') engine opened in a worker gets LOCKED", async () => {
    const dir = tempDir('threads-lock');
    const db = await open({ dir, engine: held, onLog: () => undefined });
    assert.equal(await runWorker({ mode: 'open', dir, engine: 'js' }), { code: 'LOCKED' });
    await db.close();
  });

  test('after the main thread closes, a worker can open the directory', async () => {
    const dir = tempDir('threads-lock');
    await (await open({ dir, engine: held, onLog: () => undefined })).close();
    assert.equal(await runWorker({ mode: 'open', dir, engine: 'js' satisfies EngineName }), { ok: true });
  });

  test.run();
}

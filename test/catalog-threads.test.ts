/**
 * Catalog changes are atomic across worker_threads (issue 19): several threads, each with its
 * own Store and AuthService on the one shared native engine, make read-modify-write changes
 * to the same user and role records at once; the result must equal the model (no update
 * lost), and a password change or lock made in one thread must end a session in another.
 * Needs the native engine (the pure-TS one is not shared across threads: LOCKED).
 */
import { Worker } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open } from '../ts/index.js';
import { systemView } from '../ts/store/store.js';
import { RACE } from './children/catalog-race.js';
import { ENGINES, tempDir } from './helpers.js';

const workerUrl = new URL('./children/catalog-thread.js', import.meta.url);
const KEY = 'c'.repeat(64);
const PW = 'correct horse battery';

function spawn(workerData: Record<string, unknown>): Worker {
  return new Worker(workerUrl, { workerData });
}

function once<T>(w: Worker, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('worker did not answer in time')), timeoutMs);
    const done = (): void => {
      clearTimeout(t);
      w.off('message', onMsg);
      w.off('error', onErr);
    };
    const onMsg = (m: T): void => { done(); resolve(m); };
    const onErr = (e: Error): void => { done(); reject(e); };
    w.on('message', onMsg);
    w.on('error', onErr);
  });
}

async function ask<T = unknown>(w: Worker, msg: Record<string, unknown>): Promise<{ ok: boolean; result?: T; code?: string }> {
  const p = once<{ ok: boolean; result?: T; code?: string }>(w);
  w.postMessage(msg);
  return p;
}

if (ENGINES.includes('native')) {
  for (const durability of ['always', 'none'] as const) {
    const test = suite(`catalog across worker_threads [native, ${durability}]`);
    const THREADS = 4;
    const ROUNDS = 12;

    test('N threads x M grants, revokes, password changes and failed logins on the same records lose no update', async () => {
      const dir = tempDir('cat-threads');
      const db = await open({ dir, engine: 'native', durability, onLog: () => undefined });
      const auth = await AuthService.open(db, { masterKey: KEY });
      await auth.updateSettings({ lockoutThreshold: 0 });
      await auth.createRole(RACE.role);
      for (let id = 0; id < THREADS; id++) for (let j = 0; j < ROUNDS; j++) await auth.createRole(`g${id}_${j}`);
      await auth.createUser(RACE.user, { roles: ['reader'] });
      await auth.createUser(RACE.pwUser, { password: PW });
      await auth.createUser(RACE.failUser, { password: PW });
      const start = new Int32Array(new SharedArrayBuffer(4));
      const workers = Array.from({ length: THREADS }, (_, id) => spawn({ mode: 'race', dir, durability, id, rounds: ROUNDS, start }));
      const results = workers.map((w) => once<{ errors: string[] }>(w, 120_000));
      await new Promise((r) => setTimeout(r, 300)); // every worker has opened and waits on `start`
      Atomics.store(start, 0, 1);
      Atomics.notify(start, 0);
      const reports = await Promise.all(results);
      assert.equal(reports.flatMap((r) => r.errors), []);

      // The model: every grant of an even round stays, every odd one was revoked again.
      const roles = ['reader'];
      const prefixes: string[] = [];
      for (let id = 0; id < THREADS; id++) {
        for (let j = 0; j < ROUNDS; j += 2) {
          roles.push(`g${id}_${j}`);
          prefixes.push(`t${id}/${j}/`);
        }
      }
      const sys = systemView(db);
      const stored = <T>(key: string): T => JSON.parse(sys.get(key)!.toString('utf8')) as T;
      assert.equal(stored<{ roles: string[] }>(`_sys.users:${RACE.user}`).roles.sort(), roles.sort());
      assert.equal(stored<{ permissions: { prefix: string }[] }>(`_sys.roles:${RACE.role}`).permissions.map((p) => p.prefix).sort(), prefixes.sort());
      assert.is(stored<{ authEpoch: number }>(`_sys.users:${RACE.pwUser}`).authEpoch, 1 + THREADS * RACE.passwords);
      assert.is(stored<{ failedLogins: number }>(`_sys.users:${RACE.failUser}`).failedLogins, THREADS * RACE.failures);
      // The main thread's copy agrees once it looks again.
      assert.equal([...auth.getUser(RACE.user)!.roles].sort(), roles.sort());
      assert.is(auth.getUser(RACE.failUser)!.failedLogins, THREADS * RACE.failures);
      assert.equal(auth.checkCatalog(), []);
      await auth.close();
      await db.close();
    });

    test('a password change or lock in one thread ends a session verified in another', async () => {
      const dir = tempDir('cat-threads-rev');
      const db = await open({ dir, engine: 'native', durability, onLog: () => undefined });
      const auth = await AuthService.open(db, { masterKey: KEY });
      await auth.createUser('dave', { password: PW, roles: ['reader'] });
      await auth.createUser('erin', { password: PW, roles: ['reader'] });
      const a = spawn({ mode: 'serve', dir, durability });
      const b = spawn({ mode: 'serve', dir, durability });
      try {
        for (const [user, change] of [['dave', { op: 'setPassword', user: 'dave', password: 'a new long password' }], ['erin', { op: 'lock', user: 'erin' }]] as const) {
          const token = (await ask<string>(b, { op: 'login', user, password: PW })).result!;
          assert.equal(await ask(b, { op: 'verify', token }), { ok: true, result: { user, read: true } });
          assert.equal(await ask(a, change), { ok: true });
          await new Promise((r) => setTimeout(r, 2)); // other threads look again at most 1 ms later
          assert.equal(await ask(b, { op: 'verify', token }), { ok: false, code: 'AUTH_FAILED' });
          await assert.not.ok((await ask(a, { op: 'verify', token })).ok);
        }
      } finally {
        await ask(a, { op: 'close' });
        await ask(b, { op: 'close' });
        await auth.close();
        await db.close();
      }
    });

    test.run();
  }
} else {
  console.log(`  catalog-threads: skipped, 'native' is not in KVSTORE_TEST_ENGINES (${ENGINES.join(',')})`);
}

/**
 * worker_threads child for test/catalog-threads.test.ts: its own Store and AuthService on the
 * directory the main thread holds (the native engine is shared per process). workerData:
 *   { mode: 'race', dir, durability, id, rounds, start }: waits on `start` (an Int32Array over
 *     a SharedArrayBuffer) until the main thread releases every worker at once, then runs its
 *     share of read-modify-writes on the same catalog records, 4 in flight, and posts
 *     { errors } (codes of operations that failed).
 *   { mode: 'serve', dir, durability }: answers messages { op, ... } one at a time with
 *     { ok, result?, code? }; 'close' closes and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AuthService, open, type Principal } from '../../ts/index.js';
import { RACE } from './catalog-race.js';


const data = workerData as { mode: 'race' | 'serve'; dir: string; durability: 'always' | 'none'; id: number; rounds: number; start: Int32Array };
const port = parentPort!;
const db = await open({ dir: data.dir, engine: 'native', durability: data.durability, onLog: () => undefined });
const auth = await AuthService.open(db, { masterKey: 'c'.repeat(64) });

async function race(): Promise<void> {
  const errors: string[] = [];
  const ops: Array<() => Promise<unknown>> = [];
  for (let j = 0; j < data.rounds; j++) {
    const role = `g${data.id}_${j}`;
    const prefix = `t${data.id}/${j}/`;
    ops.push(async () => {
      await auth.grant({ role, user: RACE.user });
      if (j % 2 === 1) await auth.revoke({ role, user: RACE.user });
    });
    ops.push(async () => {
      await auth.grant({ role: RACE.role, prefix, actions: ['read'] });
      if (j % 2 === 1) await auth.revoke({ role: RACE.role, prefix });
    });
  }
  for (let j = 0; j < RACE.passwords; j++) ops.push(() => auth.setPassword(RACE.pwUser, `password ${data.id} ${j} long enough`));
  for (let j = 0; j < RACE.failures; j++) ops.push(() => auth.login(RACE.failUser, `wrong ${data.id} ${j}`).then(() => errors.push('login succeeded'), () => undefined));
  Atomics.wait(data.start, 0, 0, 10_000);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ops.length) {
      const op = ops[next++]!;
      try {
        await op();
      } catch (err) {
        errors.push(String((err as { code?: unknown }).code ?? err));
      }
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  await auth.close();
  await db.close();
  port.postMessage({ errors });
}

type Msg =
  | { op: 'login'; user: string; password: string }
  | { op: 'verify'; token: string }
  | { op: 'setPassword'; user: string; password: string }
  | { op: 'lock'; user: string }
  | { op: 'close' };

function serve(): void {
  let chain = Promise.resolve();
  port.on('message', (m: Msg) => {
    chain = chain.then(async () => {
      try {
        let result: unknown;
        if (m.op === 'login') result = (await auth.login(m.user, m.password)).token;
        else if (m.op === 'verify') {
          const p: Principal = await auth.verifyToken(m.token);
          result = { user: p.user, read: auth.authorize(p, 'read', 'k').allow };
        } else if (m.op === 'setPassword') await auth.setPassword(m.user, m.password);
        else if (m.op === 'lock') await auth.lockUser(m.user, 'test');
        else {
          await auth.close();
          await db.close();
          port.postMessage({ ok: true });
          port.close();
          return;
        }
        port.postMessage(result === undefined ? { ok: true } : { ok: true, result });
      } catch (err) {
        port.postMessage({ ok: false, code: String((err as { code?: unknown }).code ?? err) });
      }
    });
  });
}

if (data.mode === 'race') await race();
else serve();

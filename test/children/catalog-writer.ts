/**
 * Catalog crash-test child: argv = dir engine round.
 * Makes catalog changes one at a time (durability 'always') until SIGKILLed, with a checkpoint
 * started now and then so kills also land mid-checkpoint. One JSON line per event:
 *   {t:'ready'}
 *   {t:'b', op}     about to run op (see CatalogOp in catalog-crash.test.ts)
 *   {t:'a'}         the op just begun was acknowledged
 */
import { AuthService, open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { emit } from './emit.js';
import { exitWithParent } from './exit-with-parent.js';

const [dir, engine, roundArg] = process.argv.slice(2) as [string, EngineName, string];
const r = Number(roundArg);

exitWithParent();
const db = await open({ dir, engine, durability: 'always', checkpointWalBytes: 0 });
const auth = await AuthService.open(db);
emit({ t: 'ready' });

for (let i = 0; ; i++) {
  const n = `${r}x${i}`;
  if (i % 25 === 24) void db.checkpoint().catch(() => undefined);
  const steps: Array<[Record<string, unknown>, () => Promise<unknown>]> = [
    [{ t: 'role', name: `r${n}` }, () => auth.createRole(`r${n}`, { permissions: [{ prefix: `p${n}:`, actions: ['read', 'write'] }] })],
    [{ t: 'user', name: `u${n}`, roles: [`r${n}`] }, () => auth.createUser(`u${n}`, { roles: [`r${n}`] })],
    [{ t: 'grant', user: `u${n}`, role: 'reader' }, () => auth.grant({ role: 'reader', user: `u${n}` })],
  ];
  let token = '';
  steps.push([{ t: 'key', name: `k${n}`, owner: `u${n}` }, async () => (token = (await auth.createApiKey(`u${n}`, { name: `k${n}` })).token)]);
  if (i % 3 === 2) steps.push([{ t: 'dropUser', name: `u${r}x${i - 2}` }, () => auth.dropUser(`u${r}x${i - 2}`)]);
  if (i % 4 === 3) steps.push([{ t: 'revoke', name: `k${r}x${i - 1}` }, () => auth.revokeApiKey(`k${r}x${i - 1}`)]);
  if (i % 5 === 4) steps.push([{ t: 'dropRole', name: `r${r}x${i - 1}` }, () => auth.dropRole(`r${r}x${i - 1}`)]);
  for (const [op, run] of steps) {
    emit({ t: 'b', op });
    await run();
    emit({ t: 'a', ...(op.t === 'key' ? { token } : {}) });
  }
}

/**
 * Scenario `auth`: the request-path cost of authentication + authorization with a catalog of
 * `users` users (default 10,000) and `grants` prefix grants (default 1,000: 100 custom roles ×
 * 10 prefixes; every user holds two of them and reader or writer). Measured per call, over
 * rotating principals and keys:
 *   apikey   authenticateApiKey(token, ip) + authorize(read, key)
 *   jwt      verifyToken(jwt) + authorize(read, key)   (verified-token cache warm)
 *   authz    authorize(read, key) alone
 *   jwtCold  jose HS256 verify of a token not seen before (what a cache miss costs)
 *   login    argon2id verify + JWT sign + audit write (OWASP parameters; runs off the JS thread)
 * The engine under the catalog is the only difference between rows.
 */
import { Bench } from 'tinybench';
import { AuthService, type Principal } from '../ts/index.js';
import { verifySession } from '../ts/auth/tokens.js';
import { systemView } from '../ts/store/store.js';
import { type ImplFn, type Metrics, type Params, type ScenarioSpec, type TargetRow, childMain, isEntry, openStore } from './common.js';

const PASSWORD = 'benchmark password 1';

async function run(engine: 'native' | 'js', p: Params, dir: string): Promise<Metrics> {
  const users = Number(p.users);
  const grants = Number(p.grants);
  const store = await openStore(engine, dir, 'none', { checkpointWalBytes: 0 });
  const auth = await AuthService.open(store);
  const ROLES = Math.max(1, Math.floor(grants / 10));
  for (let r = 0; r < ROLES; r++) {
    const permissions = Array.from({ length: Math.min(10, grants - r * 10) }, (_, j) => ({ prefix: `t${r}:${j}:`, actions: ['read', 'write', 'scan'] as ('read' | 'write' | 'scan')[] }));
    await auth.createRole(`role${r}`, { permissions });
  }
  const t0 = Date.now();
  const pending: Promise<unknown>[] = [];
  for (let u = 0; u < users; u++) {
    pending.push(auth.createUser(`user${u}`, { roles: [`role${u % ROLES}`, `role${(u * 7 + 3) % ROLES}`, u % 2 ? 'reader' : 'writer'] }));
    if (pending.length >= 256) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const createMs = Date.now() - t0;
  // API keys for 1,000 users, sessions for 20 (each login is an argon2id verify).
  const keys: { token: string; key: string }[] = [];
  for (let i = 0; i < Math.min(1000, users); i++) {
    const u = (i * 9973) % users;
    const { token } = await auth.createApiKey(`user${u}`, { name: `key${i}`, allowIps: ['10.0.0.0/8', '127.0.0.1'] });
    keys.push({ token, key: `t${u % ROLES}:${i % 10}:item${i}` });
  }
  const sessions: { token: string; key: string }[] = [];
  const LOGINS = 20;
  for (let i = 0; i < LOGINS; i++) {
    await auth.setPassword(`user${i}`, PASSWORD);
  }
  const l0 = performance.now();
  for (let i = 0; i < LOGINS; i++) {
    const { token } = await auth.login(`user${i}`, PASSWORD, { ip: '127.0.0.1' });
    sessions.push({ token, key: `t${i % ROLES}:${i % 10}:x` });
  }
  const loginMs = (performance.now() - l0) / LOGINS;
  const principals: { p: Principal; key: string }[] = keys.map((k) => ({ p: auth.authenticateApiKey(k.token, '127.0.0.1'), key: k.key }));
  // Every sampled call must be allowed: a denial would mean the benchmark measures the wrong path.
  for (const { p: pr, key } of principals) if (!auth.authorize(pr, 'read', key).allow) throw new Error(`setup: ${key} denied`);

  const bench = new Bench({ time: Number(p.ms), warmupTime: 100 });
  let i = 0;
  let allowed = 0;
  bench.add('apikey', () => {
    const k = keys[i++ % keys.length]!;
    if (auth.authorize(auth.authenticateApiKey(k.token, '10.1.2.3'), 'read', k.key).allow) allowed++;
  });
  bench.add('jwt', async () => {
    const s = sessions[i++ % sessions.length]!;
    if (auth.authorize(await auth.verifyToken(s.token), 'read', s.key).allow) allowed++;
  });
  bench.add('authz', () => {
    const x = principals[i++ % principals.length]!;
    if (auth.authorize(x.p, 'read', x.key).allow) allowed++;
  });
  await bench.run();
  const calls = bench.tasks.reduce((n, t) => n + (t.result.state === 'completed' ? t.result.latency.samplesCount : 0), 0);
  if (allowed < calls * 0.99) throw new Error(`only ${allowed} of ${calls} calls were allowed`);
  // A cache miss: jose verifying a token it has not seen (the service caches verified tokens).
  const signing = [...systemView(store).scan({ prefix: '_sys.signing_keys:' })].map(([, v]) => JSON.parse(v.toString()));
  const key = signing.find((k: { retiredAt: number | null }) => k.retiredAt === null);
  const cold = new Bench({ time: Number(p.ms) / 2, warmupTime: 50 });
  cold.add('jwtCold', async () => {
    const s = sessions[i++ % sessions.length]!;
    if (!(await verifySession(s.token, () => key, Date.now()))) throw new Error('cold verify failed');
  });
  await cold.run();
  await auth.close();
  await store.close();
  const opsPerSec = (name: string, b: Bench = bench): number => {
    const t = b.tasks.find((x) => x.name === name)!.result;
    if (t.state !== 'completed') throw new Error(`tinybench ${name}: ${t.state}`);
    return Math.round(1000 / t.latency.p50);
  };
  return {
    apikey: opsPerSec('apikey'),
    jwt: opsPerSec('jwt'),
    authz: opsPerSec('authz'),
    jwtCold: opsPerSec('jwtCold', cold),
    loginMs: Number(loginMs.toFixed(1)),
    usersCreatedPerSec: Math.round(users / (createMs / 1000)),
  };
}

export const native: ImplFn = (p, { dir }) => run('native', p, dir);
export const js: ImplFn = (p, { dir }) => run('js', p, dir);

const atLeast = (metric: string, min: number) => (row: TargetRow): boolean | string =>
  row.metrics ? (row.metrics[metric] as number) >= min : 'unavailable';

export const spec: ScenarioSpec = {
  name: 'auth',
  title: 'Authenticate + authorize per request (10,000 users, 1,000 prefix grants); medians of per-call latency as ops/s',
  impls: ['native', 'js'],
  labels: { native: 'catalog on native', js: 'catalog on js engine' },
  cases: ({ keys, quick }) => [{ users: keys ?? (quick ? 2000 : 10_000), grants: 1000, ms: quick ? 300 : 1000 }],
  columns: [
    { key: 'apikey', label: 'API key + authorize', unit: 'ops' },
    { key: 'jwt', label: 'JWT + authorize', unit: 'ops' },
    { key: 'authz', label: 'authorize only', unit: 'ops' },
    { key: 'jwtCold', label: 'JWT verify, uncached', unit: 'ops' },
    { key: 'loginMs', label: 'login (argon2id) ms', unit: 'ms' },
    { key: 'usersCreatedPerSec', label: 'createUser/s', unit: 'ops' },
  ],
  baseline: 'js',
  targets: [
    { impl: 'native', text: 'API key + authorize ≤ 10 µs (≥ 100k/s)', check: atLeast('apikey', 100_000) },
    { impl: 'native', text: 'JWT + authorize ≤ 10 µs (≥ 100k/s)', check: atLeast('jwt', 100_000) },
  ],
  timeoutMs: 300_000,
  run: { native, js },
};

if (isEntry(import.meta.url)) await childMain(spec);

/**
 * Misspelled options are refused everywhere (issue 13, item 3): a table of every method of
 * the public API that takes an options object (store, batch operations, scans, the system
 * view, AuthService, the server plugin and kvstored's config), each called with a misspelled
 * or unknown name. Each must fail with UNKNOWN_OPTION and leave the store exactly as it was:
 * no record written (the next LSN has not moved), no data or catalog entry changed. Over
 * HTTP the options are query strings: every route refuses one it does not declare.
 */
import Fastify from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type OpenOptions, type Store } from '../ts/index.js';
import { nearestName } from '../ts/options.js';
import { loadConfig } from '../ts/server/config.js';
import { kvstoreRoutes } from '../ts/server/routes.js';
import { buildServer } from '../ts/server/server.js';
import { systemView } from '../ts/store/store.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

const PW = 'a long enough password';

/** Everything a call could change: every entry (data and catalog) with its version, and the next LSN. */
function snapshot(db: Store): string {
  const rows: string[] = [`nextLsn ${db.stats().nextLsn}`];
  for (const [k] of db.scan()) rows.push(`${k.toString('hex')} ${String(db.getEntry(k)?.version)} ${db.get(k)?.toString('hex')}`);
  const sys = systemView(db);
  for (const [k, v] of sys.scan()) rows.push(`${k.toString('hex')} ${String(sys.getEntry(k)?.version)} ${v.toString('hex')}`);
  return rows.join('\n');
}

type Case = [name: string, call: (db: Store, auth: AuthService) => unknown];
const never = <T>(v: unknown): T => v as T;

/** Every method with an options object, each with one bad name (most of them a near miss of a real one). */
const CASES: Case[] = [
  ['open', (db) => open(never<OpenOptions>({ dir: tempDir('opt-open'), engin: 'js' })).then(() => db)],
  ['put', (db) => db.put('k', 'v', never({ ttl: 5 }))],
  ['put (CAS)', (db) => db.put('k', 'v', never({ ifversion: 0n }))],
  ['delete', (db) => db.delete('a', never({ ifVerison: 1n }))],
  ['batch put op', (db) => db.batch([{ type: 'put', key: 'k', value: 'v' }, never({ type: 'put', key: 'k2', value: 'v', ttl: 5 })])],
  ['batch del op', (db) => db.batch([never({ type: 'del', key: 'a', ifVersion: 1n })])],
  ['scan', (db) => db.scan(never({ prefx: 'a' }))],
  ['scan (limit)', (db) => [...db.scan(never({ limt: 1 }))]],
  ['system view put', (db) => systemView(db).put('_sys.x', 'v', never({ ttl: 5 }))],
  ['system view delete', (db) => systemView(db).delete('_sys.settings:auth', never({ ifversion: 1n }))],
  ['system view batch', (db) => systemView(db).batch([never({ type: 'put', key: '_sys.x', value: 'v', ttl: 5 })])],
  ['system view scan', (db) => systemView(db).scan(never({ reversed: true }))],
  ['AuthService.open', (db) => AuthService.open(db, never({ masterkey: 'a'.repeat(64) }))],
  ['createUser', (_db, a) => a.createUser('u2', never({ role: ['reader'] }))],
  ['createUser (metadata)', (_db, a) => a.createUser('u2', never({ metaData: { team: 'x' } }))],
  ['createUser context', (_db, a) => a.createUser('u2', {}, never({ actr: 'me' }))],
  ['createFirstAdmin', (_db, a) => a.createFirstAdmin(never({ nam: 'root', password: PW }))],
  ['createApiKey', (_db, a) => a.createApiKey('owner', never({ name: 'k1', expires: '90d' }))],
  ['createApiKey (metadata)', (_db, a) => a.createApiKey('owner', never({ name: 'k1', metadata: { team: 'x' } }))],
  ['createApiKey context', (_db, a) => a.createApiKey('owner', { name: 'k1' }, never({ ipp: '::1' }))],
  ['listApiKeys', (_db, a) => a.listApiKeys(never({ ownr: 'owner' }))],
  ['createRole', (_db, a) => a.createRole('r2', never({ permisions: [{ prefix: 'a', actions: ['read'] }] }))],
  ['createRole permission', (_db, a) => a.createRole('r2', { permissions: [never({ prefix: 'a', action: ['read'] })] })],
  ['grant to user', (_db, a) => a.grant(never({ role: 'reader', usr: 'owner' }))],
  ['grant with two shapes', (_db, a) => a.grant(never({ role: 'r', user: 'owner', prefix: 'x' }))],
  ['grant prefix', (_db, a) => a.grant(never({ role: 'r', prefix: 'x', action: ['read'] }))],
  ['revoke member', (_db, a) => a.revoke(never({ role: 'reader', member: 'r', actions: ['read'] }))],
  ['updateSettings', (_db, a) => a.updateSettings(never({ lockoutMinute: 5 }))],
  ['updateSettings argon2', (_db, a) => a.updateSettings(never({ argon2: { memKiB: 65536 } }))],
  ['updateSettings context', (_db, a) => a.updateSettings({ lockoutMinutes: 5 }, never({ who: 'me' }))],
  ['listAudit', (_db, a) => a.listAudit(never({ limt: 5 }))],
  ['setPassword context', (_db, a) => a.setPassword('owner', 'another long password', never({ actor: 'me', ipp: '::1' }))],
  ['lockUser context', (_db, a) => a.lockUser('owner', 'why', never({ actro: 'me' }))],
  ['unlockUser context', (_db, a) => a.unlockUser('owner', never({ actro: 'me' }))],
  ['dropUser context', (_db, a) => a.dropUser('owner', never({ actro: 'me' }))],
  ['setUserMetadata context', (_db, a) => a.setUserMetadata('owner', { team: 'x' }, never({ actro: 'me' }))],
  ['login context', (_db, a) => a.login('owner', PW, never({ address: '::1' }))],
  ['rotateSigningKey context', (_db, a) => a.rotateSigningKey(never({ actro: 'me' }))],
  ['revokeApiKey context', (_db, a) => a.revokeApiKey('k0', never({ actro: 'me' }))],
  ['dropRole context', (_db, a) => a.dropRole('r', never({ actro: 'me' }))],
  ['kvstoreRoutes plugin options', async (db, a) => {
    const app = Fastify();
    try {
      await app.register(kvstoreRoutes, never({ prefix: '/v1', store: db, auth: a, rateLimt: 5 }));
    } finally {
      await app.close();
    }
  }],
  ['buildServer config', async (db, a) => {
    const { config } = loadConfig([], {});
    const s = await buildServer(never({ ...config, logLevel: 'silent', rate_limit: 5 }), db, a);
    await s.app.close();
  }],
];

for (const engine of ENGINES) {
  const test = suite(`unknown options [${engine}]`);
  let db: Store;
  let auth: AuthService;
  test.before(async () => {
    db = await open({ dir: tempDir('opt'), engine });
    auth = await AuthService.open(db, { masterKey: 'b'.repeat(64) });
    await auth.createUser('owner', { password: PW, roles: ['reader', 'writer'] });
    await auth.createRole('r', { permissions: [{ prefix: 'a', actions: ['read'] }] });
    await auth.createApiKey('owner', { name: 'k0' });
    await db.put('a', '1');
  });
  test.after(async () => {
    await auth.close();
    await db.close();
  });

  for (const [name, call] of CASES) {
    test(`${name}: a misspelled option is UNKNOWN_OPTION and writes nothing`, async () => {
      const before = snapshot(db);
      await rejectsWith('UNKNOWN_OPTION', () => call(db, auth));
      assert.is(snapshot(db), before);
    });
  }

  test('the right spellings still work (the table above is of near misses, not of broken methods)', async () => {
    await db.put('t', 'v', { ttlMs: 60_000 });
    assert.ok(db.getEntry('t')?.expiresAt !== undefined);
    await db.batch([{ type: 'put', key: 'b1', value: 'v', ttlMs: 60_000 }, { type: 'del', key: 't' }]);
    assert.equal([...db.scan({ prefix: 'b', limit: 1, reverse: false })].map(([k]) => k.toString()), ['b1']);
    const k = await auth.createApiKey('owner', { name: 'k2', expiresAt: Date.now() + 60_000, roles: ['reader'], allowIps: ['::1/128'] }, { actor: 'me', ip: '::1' });
    assert.ok(k.record.expiresAt !== null);
    const u = await auth.createUser('u3', { roles: ['reader'], metadata: { team: 'x' } });
    assert.equal(u.roles, ['reader']);
    assert.is(auth.listAudit({ limit: 1, before: undefined }).entries.length, 1);
  });

  test('an options argument that is not an object is INVALID_ARGUMENT, not an internal error', async () => {
    const before = snapshot(db);
    await rejectsWith('INVALID_ARGUMENT', () => db.put('k', 'v', never(null)));
    await rejectsWith('INVALID_ARGUMENT', () => db.delete('a', never('ifVersion')));
    await rejectsWith('INVALID_ARGUMENT', () => db.scan(never([])));
    await rejectsWith('INVALID_ARGUMENT', () => db.scan(never({ reverse: 'yes' })));
    await rejectsWith('INVALID_ARGUMENT', () => auth.createApiKey('owner', never(null)));
    assert.is(snapshot(db), before);
  });

  test.run();
}

// The HTTP API's options are its query strings: a parameter a route does not take is refused
// (400) before the handler runs, on every route, so DELETE /v1/kv/a?ifVersion=... cannot delete.
const http = suite(`HTTP query strings [${ENGINES[0]}]`);
http('every /v1 route refuses a query parameter it does not declare, and nothing is written', async () => {
  const db = await open({ dir: tempDir('opt-http'), engine: ENGINES[0]! });
  const { version } = await db.put('a', '1');
  // As buildServer() makes it: ajv refuses additional properties instead of removing them.
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false } } });
  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => void routes.push({ method: String(r.method), url: r.url }));
  try {
    await app.register(kvstoreRoutes, { prefix: '/v1', store: db, auth: null });
    await app.ready();
    assert.ok(routes.length >= 20, `only ${routes.length} routes seen`);
    const before = snapshot(db);
    for (const { method, url } of routes) {
      const path = url.replace('*', 'a').replace(':name', 'owner');
      const r = await app.inject({ method: method as 'GET', url: `${path}?ifVersion=${version}&bogus=1` });
      assert.is(r.statusCode, 400, `${method} ${url}: ${r.body}`);
    }
    const del = await app.inject({ method: 'DELETE', url: `/v1/kv/a?ifVersion=${version + 1n}` });
    assert.is(del.json<{ code: string }>().code, 'INVALID_ARGUMENT');
    assert.is(snapshot(db), before);
  } finally {
    await app.close();
    await db.close();
  }
});
http.run();

const unit = suite('nearestName');
unit('suggests the valid name a typo most likely meant', () => {
  assert.is(nearestName('ttl', ['ttlMs', 'ifVersion']), 'ttlMs');
  assert.is(nearestName('ifversion', ['ttlMs', 'ifVersion']), 'ifVersion');
  assert.is(nearestName('expires', ['name', 'roles', 'expiresAt', 'allowIps']), 'expiresAt');
  assert.is(nearestName('role', ['password', 'roles', 'metadata']), 'roles');
  assert.is(nearestName('revrese', ['prefix', 'start', 'end', 'limit', 'reverse']), 'reverse');
  assert.is(nearestName('x', []), undefined);
});
unit.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type Action, type Principal, type Store } from '../ts/index.js';
import { systemView } from '../ts/store/store.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

const PW = 'correct horse battery';
const ACTIONS: Action[] = ['read', 'write', 'delete', 'scan'];

for (const engine of ENGINES) {
  const test = suite(`auth [${engine}]`);
  let now = 1_700_000_000_000;
  const clock = (): number => now;
  let dir = '';
  let db: Store;
  let auth: AuthService;
  test.before.each(async () => {
    dir = tempDir('auth');
    now = 1_700_000_000_000;
    db = await open({ dir, engine, clock });
    auth = await AuthService.open(db, { masterKey: 'a'.repeat(64) });
  });
  test.after.each(async () => {
    await auth.close();
    await db.close();
  });
  const reopen = async (): Promise<void> => {
    await auth.close();
    await db.close();
    db = await open({ dir, engine, clock });
    auth = await AuthService.open(db, { masterKey: 'a'.repeat(64) });
  };

  test('replicate: the replicator and admin roles may stream the WAL; writer, reader and a missing principal may not', async () => {
    await auth.createUser('r', { password: 'long-enough-password', roles: ['replicator'] });
    await auth.createUser('w', { password: 'long-enough-password', roles: ['writer'] });
    await auth.createUser('a', { password: 'long-enough-password', roles: ['admin'] });
    const as = async (name: string): Promise<Principal> => auth.verifyToken((await auth.login(name, 'long-enough-password')).token);
    assert.ok(auth.authorize(await as('r'), 'replicate').allow);
    assert.ok(auth.authorize(await as('a'), 'replicate').allow);
    assert.not.ok(auth.authorize(await as('w'), 'replicate').allow);
    assert.not.ok(auth.authorize(await as('r'), 'read', 'k').allow, 'replicator reads no data through the API');
    assert.ok(auth.authorize(null, 'replicate').invalid);
  });

  test('bootstrap: built-in roles and a signing key, no users, no default password', () => {
    assert.equal(auth.listRoles().map((r) => r.name), ['admin', 'writer', 'reader', 'replicator', 'monitor']);
    // replicator may stream the WAL and nothing else: no data permissions of its own
    assert.equal(auth.listRoles().find((r) => r.name === 'replicator')?.permissions, []);
    assert.equal(auth.listUsers(), []);
    assert.equal(auth.checkCatalog(), []);
    assert.equal(auth.listAudit().entries.map((e) => e.action), ['catalog.bootstrap']);
  });

  test('first admin from the operator or generated once; refused when an admin exists', async () => {
    const first = await auth.createFirstAdmin();
    assert.is(first.name, 'admin');
    assert.type(first.generatedPassword, 'string');
    assert.ok(first.generatedPassword!.length >= 24);
    const { principal } = await auth.login('admin', first.generatedPassword!);
    assert.ok(auth.authorize(principal, 'admin').allow);
    await rejectsWith('ALREADY_EXISTS', () => auth.createFirstAdmin({ name: 'root', password: PW }));
    // the generated password is not stored anywhere in the catalog
    for (const [, v] of systemView(db).scan()) assert.not.ok(v.toString('latin1').includes(first.generatedPassword!));
  });

  test('passwords: argon2id with OWASP parameters, policy enforced, verify is constant-time in argon2', async () => {
    await rejectsWith('PASSWORD_POLICY', () => auth.createUser('alice', { password: 'short' }));
    await rejectsWith('PASSWORD_POLICY', () => auth.createUser('alice', { password: 'x'.repeat(2000) }));
    await rejectsWith('INVALID_ARGUMENT', () => auth.createUser('bad name!', { password: PW }));
    assert.equal(auth.listUsers(), []);
    await auth.createUser('alice', { password: PW, roles: ['writer'] });
    const hash = JSON.parse(systemView(db).get('_sys.users:alice')!.toString()).passwordHash as string;
    assert.match(hash, /^\$argon2id\$v=19\$/);
    assert.equal(hash.split('$')[3]!.split(',').sort(), ['m=19456', 'p=1', 't=2']);
    assert.ok(await auth.verifyPassword('alice', PW));
    assert.not.ok(await auth.verifyPassword('alice', PW + '!'));
    assert.not.ok(await auth.verifyPassword('nobody', PW));
    await rejectsWith('INVALID_ARGUMENT', () => auth.updateSettings({ argon2: { memoryKiB: 1024, iterations: 2, parallelism: 1 } }));
    await rejectsWith('UNKNOWN_OPTION', () => auth.updateSettings({ minPasswordLen: 3 } as never));
    await auth.updateSettings({ minPasswordLength: 20 });
    await rejectsWith('PASSWORD_POLICY', () => auth.setPassword('alice', 'nineteen characters'));
    await auth.setPassword('alice', 'twenty characters ok');
    assert.ok(await auth.verifyPassword('alice', 'twenty characters ok'));
  });

  test('login → JWT; wrong, malformed, forged and expired tokens fail; password change and lock end sessions', async () => {
    await auth.createUser('alice', { password: PW, roles: ['reader'] });
    const s = await auth.login('alice', PW, { ip: '10.1.2.3' });
    const p = await auth.verifyToken(s.token);
    assert.is(p.user, 'alice');
    assert.ok(auth.authorize(p, 'read', 'x').allow);
    await rejectsWith('AUTH_FAILED', () => auth.login('alice', 'wrong password!!'));
    await rejectsWith('AUTH_FAILED', () => auth.login('nobody', PW));
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken('not.a.jwt'));
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(''));
    const [h, b, sig] = s.token.split('.');
    const forged = JSON.parse(Buffer.from(b!, 'base64url').toString());
    forged.sub = 'admin';
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(`${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`));
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(`${h}.${b}.${sig!.slice(0, -2)}AA`));
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(`${none}.${b}.`));
    // expiry (session timeout 1 h)
    now += 3601_000;
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(s.token));
    assert.not.ok(auth.authorize(p, 'read', 'x').allow);
    // a password change ends earlier sessions at once, a fresh login works
    const s2 = await auth.login('alice', PW);
    await auth.verifyToken(s2.token);
    await auth.setPassword('alice', 'another long password');
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(s2.token));
    const s3 = await auth.login('alice', 'another long password');
    await auth.lockUser('alice', 'suspicious activity', { actor: 'admin' });
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(s3.token));
    await rejectsWith('AUTH_FAILED', () => auth.login('alice', 'another long password'));
    assert.is(auth.getUser('alice')?.lockedReason, 'suspicious activity');
    await auth.unlockUser('alice');
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(s3.token)); // stays dead: issued before the lock
    await auth.verifyToken((await auth.login('alice', 'another long password')).token);
    const audit = auth.listAudit({ limit: 100 }).entries;
    assert.ok(audit.some((e) => e.action === 'auth.login' && e.ok && e.ip === '10.1.2.3'));
    assert.ok(audit.some((e) => e.action === 'auth.login' && !e.ok && e.target === 'nobody' && e.detail === 'no such user'));
    assert.ok(audit.some((e) => e.action === 'user.lock' && e.actor === 'admin' && e.detail === 'suspicious activity'));
    for (let i = 1; i < audit.length; i++) assert.ok(audit[i - 1]!.id > audit[i]!.id, 'newest first');
  });

  test('lockout after N failed logins for M minutes, then a good password works again', async () => {
    await auth.updateSettings({ lockoutThreshold: 3, lockoutMinutes: 10 });
    await auth.createUser('bob', { password: PW, roles: ['reader'] });
    for (let i = 0; i < 3; i++) await rejectsWith('AUTH_FAILED', () => auth.login('bob', 'wrong password ' + i));
    assert.ok(auth.getUser('bob')!.lockedOutUntil! > now);
    await rejectsWith('AUTH_FAILED', () => auth.login('bob', PW)); // right password, still locked out
    now += 10 * 60_000 + 1;
    await auth.login('bob', PW);
    assert.is(auth.getUser('bob')!.failedLogins, 0);
    assert.ok(auth.listAudit().entries.some((e) => e.action === 'user.lockout' && e.target === 'bob'));
    assert.is(auth.stats().lockouts, 1);
  });

  test('API keys: shown once, stored hashed, O(1) lookup; wrong, malformed, revoked, expired keys fail', async () => {
    await auth.createUser('svc', { roles: ['writer', 'reader'] });
    await rejectsWith('AUTH_FAILED', () => auth.login('svc', PW)); // no password: keys only
    const { token, record } = await auth.createApiKey('svc', { name: 'k8s-prod-app-01', expiresAt: now + 86_400_000 });
    assert.match(token, /^kvs_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.is((record as { hash?: string }).hash, undefined);
    const stored = systemView(db).get(`_sys.apikeys:${record.id}`)!.toString();
    assert.not.ok(stored.includes(token.slice(22)), 'secret not stored');
    const p = auth.authenticateApiKey(token, '127.0.0.1');
    assert.is(p.user, 'svc');
    assert.is(p.keyName, 'k8s-prod-app-01');
    await rejectsWith('ALREADY_EXISTS', () => auth.createApiKey('svc', { name: 'k8s-prod-app-01' }));
    await rejectsWith('NOT_FOUND', () => auth.createApiKey('ghost', { name: 'x' }));
    await rejectsWith('INVALID_ARGUMENT', () => auth.createApiKey('svc', { name: 'y', roles: ['admin'] }));
    for (const bad of ['', 'kvs_', token.slice(0, -1), token + 'x', token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), `kvs_${'0'.repeat(16)}_${token.slice(22)}`, 'Bearer ' + token]) {
      assert.throws(() => auth.authenticateApiKey(bad, '127.0.0.1'), (e: { code?: string }) => e.code === 'AUTH_FAILED');
    }
    // expiry
    now += 86_400_001;
    assert.throws(() => auth.authenticateApiKey(token), (e: { code?: string }) => e.code === 'AUTH_FAILED');
    assert.not.ok(auth.authorize(p, 'read', 'a').allow);
    // revoke takes effect on the next request
    const k2 = await auth.createApiKey('svc', { name: 'second' });
    const p2 = auth.authenticateApiKey(k2.token);
    assert.ok(auth.authorize(p2, 'write', 'a').allow);
    await auth.revokeApiKey('second');
    assert.throws(() => auth.authenticateApiKey(k2.token), (e: { code?: string }) => e.code === 'AUTH_FAILED');
    assert.equal(auth.authorize(p2, 'write', 'a'), { allow: false, reason: 'API key revoked', invalid: true });
    assert.ok(auth.listApiKeys({ owner: 'svc' }).find((k) => k.name === 'second')!.revoked);
    await rejectsWith('NOT_FOUND', () => auth.revokeApiKey('nope'));
  });

  test('API keys: role subset of the owner, IP allowlists (v4, v6, mapped), last-used written at most once a minute', async () => {
    await auth.createUser('svc', { roles: ['writer', 'reader'] });
    const ro = await auth.createApiKey('svc', { name: 'ro', roles: ['reader'], allowIps: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'] });
    const p = auth.authenticateApiKey(ro.token, '10.20.30.40');
    assert.ok(auth.authorize(p, 'read', 'k').allow);
    assert.not.ok(auth.authorize(p, 'write', 'k').allow);
    auth.authenticateApiKey(ro.token, '::ffff:10.0.0.1');
    auth.authenticateApiKey(ro.token, '2001:db8::1');
    auth.authenticateApiKey(ro.token, '192.168.1.7');
    for (const ip of ['11.0.0.1', '192.168.1.8', '2001:db9::1', undefined, 'garbage']) {
      assert.throws(() => auth.authenticateApiKey(ro.token, ip), (e: { code?: string }) => e.code === 'AUTH_FAILED', String(ip));
    }
    await rejectsWith('INVALID_ARGUMENT', () => auth.createApiKey('svc', { name: 'bad-cidr', allowIps: ['10.0.0.0/33'] }));
    await rejectsWith('INVALID_ARGUMENT', () => auth.createApiKey('svc', { name: 'bad-cidr', allowIps: ['ten'] }));
    // revoking the role from the owner removes it from the key too
    await auth.revoke({ role: 'reader', user: 'svc' });
    assert.not.ok(auth.authorize(p, 'read', 'k').allow);
    // last-used: written by a background batch, not on the request path
    assert.is(auth.listApiKeys()[0]!.lastUsedAt, null);
    await auth.close(); // flushes pending last-used times
    auth = await AuthService.open(db);
    assert.is(auth.listApiKeys()[0]!.lastUsedAt, now);
  });

  test('RBAC matrix: built-in roles × actions × prefixes, custom prefix roles, inheritance, and _sys. refused to all', async () => {
    await auth.createRole('app-ro', { permissions: [{ prefix: 'app:', actions: ['read', 'scan'] }] });
    await auth.createRole('app-rw', { permissions: [{ prefix: 'app:', actions: ['write', 'delete'] }, { prefix: 'shared:cfg', actions: ['read'] }], memberOf: ['app-ro'] });
    await auth.createRole('ops', { memberOf: ['app-rw'] });
    await auth.grant({ role: 'ops', prefix: 'ops:', actions: ['read', 'write', 'delete', 'scan'] });
    const users: Record<string, string[]> = { ad: ['admin'], wr: ['writer'], rd: ['reader'], aro: ['app-ro'], arw: ['app-rw'], op: ['ops'], none: [] };
    const principals: Record<string, Principal> = {};
    for (const [name, roles] of Object.entries(users)) {
      await auth.createUser(name, { roles });
      principals[name] = auth.authenticateApiKey((await auth.createApiKey(name, { name: `key-${name}` })).token);
    }
    const all = new Set(ACTIONS);
    const expect: Record<string, Record<string, Set<Action>>> = {
      ad: { 'app:1': all, 'ops:1': all, 'shared:cfg:x': all, 'other': all },
      wr: { 'app:1': all, 'ops:1': all, 'shared:cfg:x': all, 'other': all },
      rd: { 'app:1': new Set(['read', 'scan']), 'ops:1': new Set(['read', 'scan']), 'shared:cfg:x': new Set(['read', 'scan']), 'other': new Set(['read', 'scan']) },
      aro: { 'app:1': new Set(['read', 'scan']), 'ops:1': new Set(), 'shared:cfg:x': new Set(), 'other': new Set() },
      arw: { 'app:1': all, 'ops:1': new Set(), 'shared:cfg:x': new Set(['read']), 'other': new Set() },
      op: { 'app:1': all, 'ops:1': all, 'shared:cfg:x': new Set(['read']), 'other': new Set() },
      none: { 'app:1': new Set(), 'ops:1': new Set(), 'shared:cfg:x': new Set(), 'other': new Set() },
    };
    let checked = 0;
    for (const [name, byKey] of Object.entries(expect)) {
      for (const [key, allowed] of Object.entries(byKey)) {
        for (const a of ACTIONS) {
          const d = auth.authorize(principals[name]!, a, key);
          assert.is(d.allow, allowed.has(a), `${name} ${a} ${key}: ${d.reason}`);
          checked++;
        }
        for (const a of ACTIONS) assert.not.ok(auth.authorize(principals[name]!, a, '_sys.users:ad').allow, `${name} ${a} _sys.`);
        assert.not.ok(auth.authorize(principals[name]!, 'read', Buffer.from('_sys.roles:x')).allow);
      }
      assert.is(auth.authorize(principals[name]!, 'admin').allow, name === 'ad', `${name} admin`);
    }
    assert.is(checked, 7 * 4 * 4);
    assert.equal(auth.effectiveRoles(principals.op!), ['app-ro', 'app-rw', 'ops']);
    assert.match(auth.authorize(principals.op!, 'read', 'app:7').reason, /role app-ro grants read on prefix "app:"/);
    // prefixes are byte-wise: 'app' is not under 'app:', binary keys work
    assert.not.ok(auth.authorize(principals.aro!, 'read', 'app').allow);
    assert.ok(auth.authorize(principals.aro!, 'read', Buffer.from([0x61, 0x70, 0x70, 0x3a, 0xff, 0x00])).allow);
    // cycles are refused; revoking inheritance cuts it at once
    await rejectsWith('INVALID_ARGUMENT', () => auth.grant({ role: 'ops', member: 'app-ro' }));
    await rejectsWith('INVALID_ARGUMENT', () => auth.grant({ role: 'x', prefix: '_sys.users:', actions: ['read'] }));
    await rejectsWith('INVALID_ARGUMENT', () => auth.grant({ role: 'reader', prefix: 'a', actions: ['read'] }));
    await rejectsWith('INVALID_ARGUMENT', () => auth.grant({ role: 'app-ro', prefix: 'a', actions: ['fly' as Action] }));
    await auth.revoke({ role: 'app-rw', member: 'ops' });
    assert.not.ok(auth.authorize(principals.op!, 'read', 'app:1').allow);
    assert.ok(auth.authorize(principals.op!, 'read', 'ops:1').allow);
    await auth.revoke({ role: 'ops', prefix: 'ops:', actions: ['write'] });
    assert.not.ok(auth.authorize(principals.op!, 'write', 'ops:1').allow);
    assert.ok(auth.authorize(principals.op!, 'delete', 'ops:1').allow);
    await rejectsWith('NOT_FOUND', () => auth.revoke({ role: 'ops', prefix: 'nope:' }));
    // dropping a role removes every grant of it in one batch
    await auth.dropRole('app-ro');
    assert.not.ok(auth.authorize(principals.aro!, 'read', 'app:1').allow);
    assert.equal(auth.getUser('aro')!.roles, []);
    assert.equal(auth.checkCatalog(), []);
    await rejectsWith('INVALID_ARGUMENT', () => auth.dropRole('admin'));
  });

  test('1,000 prefix grants: the compiled set answers by binary search, first and last prefix alike', async () => {
    const perms = Array.from({ length: 1000 }, (_, i) => ({ prefix: `tenant:${String(i).padStart(4, '0')}:`, actions: ['read'] as Action[] }));
    await auth.createRole('tenants', { permissions: perms });
    await auth.createUser('t', { roles: ['tenants'] });
    const p = auth.authenticateApiKey((await auth.createApiKey('t', { name: 'tk' })).token);
    for (const i of [0, 1, 500, 998, 999]) assert.ok(auth.authorize(p, 'read', `tenant:${String(i).padStart(4, '0')}:x`).allow, String(i));
    for (const k of ['tenant:1000:x', 'tenant:0001', 'tenant:', 'tenant:0001x', 'a', 'z']) assert.not.ok(auth.authorize(p, 'read', k).allow, k);
    assert.not.ok(auth.authorize(p, 'write', 'tenant:0001:x').allow);
  });

  test('the last unlocked admin cannot be dropped, locked or lose the role', async () => {
    await auth.createFirstAdmin({ password: PW });
    await rejectsWith('INVALID_ARGUMENT', () => auth.dropUser('admin'));
    await rejectsWith('INVALID_ARGUMENT', () => auth.lockUser('admin', 'oops'));
    await rejectsWith('INVALID_ARGUMENT', () => auth.revoke({ role: 'admin', user: 'admin' }));
    await auth.createUser('admin2', { password: PW, roles: ['admin'] });
    await auth.lockUser('admin', 'rotation');
    await rejectsWith('INVALID_ARGUMENT', () => auth.dropUser('admin2'));
    await auth.dropUser('admin');
    assert.equal(auth.listUsers().map((u) => u.name), ['admin2']);
  });

  test('dropUser removes its API keys and index entries in one batch', async () => {
    await auth.createUser('gone', { roles: ['reader'] });
    const k = await auth.createApiKey('gone', { name: 'gone-key' });
    const p = auth.authenticateApiKey(k.token);
    await auth.dropUser('gone');
    assert.throws(() => auth.authenticateApiKey(k.token), (e: { code?: string }) => e.code === 'AUTH_FAILED');
    assert.not.ok(auth.authorize(p, 'read', 'x').allow);
    const keys = [...systemView(db).scan()].map(([key]) => key.toString());
    assert.not.ok(keys.some((key) => key.includes('gone') || key.includes(k.record.id)), keys.join());
    await auth.createUser('gone', { roles: [] }); // the name is free again, with a new oid
    assert.not.ok(auth.authorize(p, 'read', 'x').allow, 'an old principal does not carry over to a new user of the same name');
  });

  test('user metadata is sealed with AES-256-GCM under the master key', async () => {
    await auth.createUser('meta', { metadata: { email: 'm@example.com', team: 7 } });
    const raw = systemView(db).get('_sys.users:meta')!.toString();
    assert.not.ok(raw.includes('example.com'));
    assert.equal(auth.getUserMetadata('meta'), { email: 'm@example.com', team: 7 });
    await auth.close();
    await rejectsWith('MASTER_KEY_MISMATCH', () => AuthService.open(db, { masterKey: 'b'.repeat(64) }));
    auth = await AuthService.open(db);
    assert.throws(() => auth.getUserMetadata('meta'), (e: { code?: string }) => e.code === 'MASTER_KEY_REQUIRED');
    await rejectsWith('INVALID_ARGUMENT', () => auth.createUser('m2', { metadata: { a: 1 } }));
    await rejectsWith('INVALID_ARGUMENT', () => AuthService.open(db, { masterKey: 'short' }));
  });

  test('signing key rotation: old tokens verify until the session timeout, new ones use the new key', async () => {
    await auth.createUser('alice', { password: PW, roles: ['reader'] });
    const old = await auth.login('alice', PW);
    const { kid } = await auth.rotateSigningKey();
    await auth.verifyToken(old.token);
    const fresh = await auth.login('alice', PW);
    const header = JSON.parse(Buffer.from(fresh.token.split('.')[0]!, 'base64url').toString());
    assert.is(header.kid, kid);
    now += 1800_000;
    await auth.verifyToken(old.token);
    now += 1800_001; // the old key is retired now (and the old token expired too)
    await rejectsWith('AUTH_FAILED', () => auth.verifyToken(old.token));
    await auth.rotateSigningKey(); // deletes the retired key
    assert.is([...systemView(db).scan({ prefix: '_sys.signing_keys:' })].length, 2);
  });

  test('everything persists across a restart; the data API can neither read nor write _sys.', async () => {
    await auth.createRole('app', { permissions: [{ prefix: 'app:', actions: ['read'] }] });
    await auth.createUser('alice', { password: PW, roles: ['app'] });
    const key = await auth.createApiKey('alice', { name: 'alice-key' });
    const session = await auth.login('alice', PW);
    await reopen();
    assert.ok(await auth.verifyPassword('alice', PW));
    assert.ok(auth.authorize(await auth.verifyToken(session.token), 'read', 'app:1').allow);
    assert.ok(auth.authorize(auth.authenticateApiKey(key.token), 'read', 'app:1').allow);
    assert.equal(auth.checkCatalog(), []);
    await rejectsWith('RESERVED_KEY', () => db.get('_sys.users:alice'));
    await rejectsWith('RESERVED_KEY', () => db.put('_sys.users:alice', '{}'));
    await rejectsWith('RESERVED_KEY', () => db.delete('_sys.users:alice'));
    await rejectsWith('RESERVED_KEY', () => db.batch([{ type: 'del', key: '_sys.roles:admin' }]));
    assert.equal([...db.scan()], []);
    assert.is(db.count(), 0);
    assert.ok(auth.getUser('alice'));
  });

  test('a catalog entry that does not parse is CORRUPT, named by its key', async () => {
    await systemView(db).put('_sys.users:broken', '{"name":"broken"');
    await auth.close();
    await db.close();
    db = await open({ dir, engine, clock });
    await rejectsWith('CORRUPT', () => AuthService.open(db));
  });

  test('a change made through a second service on the same store is seen by the first on its next call', async () => {
    const other = await AuthService.open(db);
    await other.createUser('late', { roles: ['reader'] });
    const k = await other.createApiKey('late', { name: 'late-key' });
    const p = auth.authenticateApiKey(k.token);
    assert.ok(auth.authorize(p, 'read', 'x').allow);
    await other.revokeApiKey('late-key');
    assert.not.ok(auth.authorize(p, 'read', 'x').allow);
    await other.close();
  });

  if (engine === 'native') {
    test('a second Store on the shared native engine (as in another worker thread) sees changes within 1 ms', async () => {
      const db2 = await open({ dir, engine, clock }); // the process-wide registry hands out the same engine
      const auth2 = await AuthService.open(db2);
      try {
        await auth.createUser('x', { roles: ['writer'] });
        const k = await auth.createApiKey('x', { name: 'xk' });
        await new Promise((r) => setTimeout(r, 2));
        const p = auth2.authenticateApiKey(k.token);
        assert.ok(auth2.authorize(p, 'write', 'a').allow);
        await auth.revoke({ role: 'writer', user: 'x' });
        await new Promise((r) => setTimeout(r, 2));
        assert.not.ok(auth2.authorize(p, 'write', 'a').allow);
        // a change made through the second copy starts from the first copy's changes
        await auth2.grant({ role: 'reader', user: 'x' });
        assert.equal(auth.getUser('x')?.roles, ['reader']);
        assert.equal(auth.checkCatalog(), []);
      } finally {
        await auth2.close();
        await db2.close();
      }
    });
  }

  test.run();
}

/**
 * The audit log (issue 19): bounded by count, age and bytes, pruned in the background in small
 * batches while changes go on; read as an iterator since a time; streamed to a sink as JSON;
 * a record for every admin change, failed login, lockout, API key used outside its scope and
 * master-key rotation.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type AuditEntry, type Store } from '../ts/index.js';
import { systemView } from '../ts/store/store.js';
import { PRUNE_BATCH } from '../ts/auth/audit.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

const PW = 'correct horse battery';

for (const engine of ENGINES) {
  const test = suite(`audit log [${engine}]`);
  let now = 1_700_000_000_000;
  let db: Store;
  let auth: AuthService;
  const sunk: AuditEntry[] = [];
  const lines: string[] = [];
  test.before.each(async () => {
    now = 1_700_000_000_000;
    sunk.length = 0;
    lines.length = 0;
    db = await open({ dir: tempDir('audit'), engine, durability: 'none', clock: () => now });
    auth = await AuthService.open(db, {
      masterKey: 'a'.repeat(64), auditPruneIntervalMs: 0,
      auditSink: (e, line) => { sunk.push(e); lines.push(line); },
    });
  });
  test.after.each(async () => {
    await auth.close();
    await db.close();
  });
  const count = (): number => [...systemView(db).scan({ prefix: '_sys.audit:' })].length;
  const churn = async (n: number, tag: string): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await auth.createRole(`${tag}${i}`);
      now += 1000;
    }
  };

  test('bounded by count: the oldest go, in batches, and the stats stay exact', async () => {
    await auth.updateSettings({ auditMaxRecords: 100 });
    await churn(700, 'r');
    assert.ok(count() > 700);
    const pruned = await auth.pruneAudit();
    assert.is(count(), 100);
    assert.ok(pruned > PRUNE_BATCH, 'more than one batch');
    assert.is(auth.stats().auditPruned, pruned);
    const kept = auth.listAudit({ limit: 1000 }).entries;
    assert.is(kept[0]!.target, 'r699', 'the newest stay');
    assert.equal(auth.checkCatalog(), []);
    assert.is(await auth.pruneAudit(), 0);
  });

  test('bounded by age and by bytes', async () => {
    await churn(150, 'old');
    now += 3 * 86_400_000;
    await churn(150, 'new');
    await auth.updateSettings({ auditMaxAgeDays: 2 });
    await auth.pruneAudit();
    const left = [...auth.readAudit()];
    assert.ok(left.every((e) => e.at >= now - 2 * 86_400_000), 'nothing older than 2 days');
    assert.ok(left.some((e) => e.target === 'new0'));
    assert.not.ok(left.some((e) => e.target === 'old149'));
    await auth.updateSettings({ auditMaxBytes: 64 * 1024 });
    await churn(500, 'big');
    await auth.pruneAudit();
    const bytes = [...systemView(db).scan({ prefix: '_sys.audit:' })].reduce((n, [k, v]) => n + k.length + v.length, 0);
    assert.ok(bytes <= 64 * 1024 && bytes > 60 * 1024, `${bytes} bytes`);
    assert.equal(auth.checkCatalog(), []);
  });

  test('the background pruner runs on its timer while writes go on, never failing them', async () => {
    await auth.close();
    auth = await AuthService.open(db, { masterKey: 'a'.repeat(64), auditPruneIntervalMs: 5 });
    await auth.updateSettings({ auditMaxRecords: 100 });
    const t0 = Date.now();
    for (let i = 0; i < 1500 && Date.now() - t0 < 20_000; i++) await auth.createRole(`bg${i}`);
    for (let i = 0; i < 200 && count() > 100; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(count(), 100);
    assert.equal(auth.listRoles().filter((r) => r.name.startsWith('bg')).length, 1500);
    assert.ok(auth.stats().auditPruned >= 1400);
  });

  test('readAudit: oldest first since a time, resumable after an id, bounded by limit', async () => {
    await churn(30, 's');
    const all = [...auth.readAudit()];
    assert.is(all.length, 31); // bootstrap + 30
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.id < all[i]!.id);
    const since = all[10]!.at;
    assert.equal([...auth.readAudit({ since })].map((e) => e.id), all.slice(10).map((e) => e.id));
    assert.equal([...auth.readAudit({ after: all[20]!.id, limit: 3 })].map((e) => e.id), all.slice(21, 24).map((e) => e.id));
    assert.equal([...auth.readAudit({ since: now + 1 })], []);
    assert.throws(() => auth.readAudit({ sinse: 1 } as never), (e: { code?: string }) => e.code === 'UNKNOWN_OPTION');
    assert.throws(() => [...auth.readAudit({ after: 'nope' })], (e: { code?: string }) => e.code === 'INVALID_ARGUMENT');
  });

  test('the sink gets every committed record as a JSON line', async () => {
    await auth.createUser('alice', { password: PW, roles: ['reader'] });
    await rejectsWith('AUTH_FAILED', () => auth.login('alice', 'wrong password here', { ip: '192.0.2.7' }));
    assert.equal(sunk.map((e) => e.action), ['user.create', 'auth.login']);
    assert.equal(lines.map((l) => JSON.parse(l)), sunk);
    assert.is(sunk[1]!.ip, '192.0.2.7');
    assert.equal(sunk.map((e) => e.id), auth.listAudit().entries.slice(0, 2).reverse().map((e) => e.id));
  });

  test('records: admin change, failed login, lockout, API key outside its scope, master-key rotation', async () => {
    await auth.updateSettings({ lockoutThreshold: 2 }, { actor: 'root', ip: '10.0.0.1' });
    await auth.createRole('app', { permissions: [{ prefix: 'app/', actions: ['read'] }] });
    await auth.createUser('svc', { roles: ['app'] });
    await auth.createUser('bob', { password: PW });
    const k = await auth.createApiKey('svc', { name: 'svc-key', allowIps: ['10.1.0.0/16'] });
    const p = auth.authenticateApiKey(k.token, '10.1.2.3');
    assert.ok(auth.authorize(p, 'read', 'app/x').allow);
    for (let i = 0; i < 5; i++) assert.not.ok(auth.authorize(p, 'write', `app/x${i}`).allow);
    assert.not.ok(auth.authorize(p, 'admin').allow);
    assert.throws(() => auth.authenticateApiKey(k.token, '192.0.2.1'), (e: { code?: string }) => e.code === 'AUTH_FAILED');
    for (let i = 0; i < 2; i++) await rejectsWith('AUTH_FAILED', () => auth.login('bob', `wrong password ${i}`));
    await auth.rotateMasterKey('b'.repeat(64), { actor: 'ops' });
    await auth.close(); // writes the deferred records
    auth = await AuthService.open(db, { masterKey: 'b'.repeat(64), auditPruneIntervalMs: 0 });
    const log = auth.listAudit({ limit: 1000 }).entries;
    const has = (action: string, pred: (e: AuditEntry) => boolean = () => true): boolean => log.some((e) => e.action === action && pred(e));
    assert.ok(has('settings.update', (e) => e.actor === 'root' && e.ip === '10.0.0.1'));
    assert.ok(has('role.create') && has('user.create') && has('apikey.create'));
    assert.ok(has('auth.login', (e) => !e.ok && e.target === 'bob'));
    assert.ok(has('user.lockout', (e) => e.target === 'bob'));
    assert.ok(has('master_key.rotate', (e) => e.actor === 'ops'));
    const denied = log.filter((e) => e.action === 'apikey.denied' && e.target === 'svc-key');
    assert.ok(denied.some((e) => /^write: /.test(e.detail!) && /x5 in/.test(e.detail!)), 'five denials coalesced into one record');
    assert.ok(denied.some((e) => /^admin: /.test(e.detail!)));
    assert.ok(denied.some((e) => e.ip === '192.0.2.1' && /allowlist/.test(e.detail!)));
    assert.not.ok(log.some((e) => JSON.stringify(e).includes(k.token.slice(22))), 'no secret in the log');
  });

  test.run();
}

/**
 * Login throttling per account (issue 19): an account under a distributed guessing attack is
 * slowed (an exponential wait between checked attempts, capped), never locked for good.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthService, open, type Store } from '../ts/index.js';
import { DEFAULT_SETTINGS, type UserRecord } from '../ts/catalog/schema.js';
import { afterFailure, throttled, waitAfter } from '../ts/auth/throttle.js';
import { ENGINES, rejectsWith, tempDir } from './helpers.js';

const PW = 'correct horse battery';

const policy = suite('throttle policy (pure)');
const settings = { ...DEFAULT_SETTINGS, lockoutThreshold: 3, lockoutBaseSeconds: 2, lockoutMinutes: 1 };

policy('no wait below the threshold, then base · 2^k, capped at lockoutMinutes', () => {
  assert.equal([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => waitAfter(n, settings)), [0, 0, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  assert.is(waitAfter(1e9, settings), 60000);
  assert.is(waitAfter(50, { ...settings, lockoutThreshold: 0 }), 0, 'threshold 0 = never');
});

policy('a failure counts and sets the wait from now; throttled() until it ends', () => {
  const u = { failedLogins: 2, lockedUntil: 0 } as UserRecord;
  const { record, waitMs } = afterFailure(u, settings, 1000);
  assert.equal([record.failedLogins, record.lockedUntil, waitMs], [3, 3000, 2000]);
  assert.ok(throttled(record, 2999));
  assert.not.ok(throttled(record, 3000));
});

policy.run();

for (const engine of ENGINES) {
  const test = suite(`login throttling [${engine}]`);
  let now = 1_700_000_000_000;
  let db: Store;
  let auth: AuthService;
  test.before.each(async () => {
    now = 1_700_000_000_000;
    db = await open({ dir: tempDir('throttle'), engine, durability: 'none', clock: () => now });
    auth = await AuthService.open(db, { masterKey: 'a'.repeat(64), auditPruneIntervalMs: 0 });
    await auth.updateSettings({ lockoutThreshold: 3, lockoutBaseSeconds: 2, lockoutMinutes: 1 });
    await auth.createUser('bob', { password: PW, roles: ['reader'] });
  });
  test.after.each(async () => {
    await auth.close();
    await db.close();
  });

  test('attempts inside the wait are refused unchecked and not counted: guessing faster gains nothing', async () => {
    for (let i = 0; i < 3; i++) await rejectsWith('AUTH_FAILED', () => auth.login('bob', `guess ${i} wrong!!`));
    assert.is(auth.getUser('bob')!.lockedOutUntil, now + 2000);
    for (let i = 0; i < 20; i++) await rejectsWith('AUTH_FAILED', () => auth.login('bob', PW)); // even the right password
    assert.is(auth.getUser('bob')!.failedLogins, 3);
    assert.is(auth.stats().loginsThrottled, 20);
    assert.ok(auth.listAudit({ limit: 30 }).entries.some((e) => e.action === 'auth.login' && !e.ok && /throttled/.test(e.detail ?? '')));
    now += 2000;
    await auth.login('bob', PW);
    assert.equal([auth.getUser('bob')!.failedLogins, auth.getUser('bob')!.lockedOutUntil], [0, undefined]);
  });

  test('a distributed attack for 10 minutes gets a few checked guesses; the owner logs in once a wait ends, never locked for good', async () => {
    let checked = 0;
    const t0 = now;
    // 10 attempts a second from "many addresses", for 10 simulated minutes
    for (let i = 0; i < 6000; i++, now += 100) {
      const before = auth.stats().loginsThrottled;
      await rejectsWith('AUTH_FAILED', () => auth.login('bob', `attacker guess ${i}`, { ip: `198.51.100.${i % 250}` }));
      if (auth.stats().loginsThrottled === before) checked++;
    }
    // 3 free, then waits of 2, 4, 8, 16, 32 s, then one a minute: about 3 + 5 + 9 in 10 minutes
    assert.ok(checked <= 20, `${checked} guesses checked`);
    assert.ok(checked >= 10, `${checked} guesses checked`);
    assert.ok(now - t0 >= 600_000);
    // the attack stops; the owner waits at most lockoutMinutes
    now = auth.getUser('bob')!.lockedOutUntil ?? now;
    await auth.login('bob', PW);
    const lockouts = auth.listAudit({ limit: 10_000 }).entries.filter((e) => e.action === 'user.lockout');
    assert.is(lockouts.length, checked - 2);
  });

  test('an admin unlock or password change ends the wait at once', async () => {
    for (let i = 0; i < 6; i++) {
      await rejectsWith('AUTH_FAILED', () => auth.login('bob', `guess ${i} wrong!!`));
      now = Math.max(now, auth.getUser('bob')!.lockedOutUntil ?? now);
    }
    await rejectsWith('AUTH_FAILED', () => auth.login('bob', 'one more wrong one'));
    assert.ok(auth.getUser('bob')!.lockedOutUntil! > now);
    await auth.unlockUser('bob', { actor: 'admin' });
    await auth.login('bob', PW);
  });

  test.run();
}

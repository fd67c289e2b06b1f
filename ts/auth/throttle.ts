/**
 * Login throttling per account: how long an account under repeated failures must wait before
 * its next password attempt is even checked. Pure functions of the user record and the
 * settings, so the policy is tested case by case without a clock.
 *
 * After `lockoutThreshold` failures in a row, each further failure sets a wait of
 * lockoutBaseSeconds · 2^(failures − threshold), at most lockoutMinutes. An attempt inside
 * the wait is refused without checking the password (so it tells a guesser nothing) and is
 * NOT counted: guessing faster never makes the wait longer than lockoutMinutes. So an account
 * under a distributed guessing attack gives the attackers one guess per lockoutMinutes at
 * most, and is never locked for good: the owner can log in as soon as a wait ends (an admin
 * can end it at once with unlockUser or setPassword), and a success resets the count.
 */
import type { AuthSettings, UserRecord } from '../catalog/schema.js';

/** Whether an attempt at `now` must be refused unchecked (the account's wait is not over). */
export function throttled(u: UserRecord, now: number): boolean {
  return u.lockedUntil > now;
}

/** The wait a failure sets, ms, given the failures in a row including this one; 0 below the threshold. */
export function waitAfter(failures: number, settings: AuthSettings): number {
  const th = settings.lockoutThreshold;
  if (th === 0 || failures < th) return 0;
  const cap = settings.lockoutMinutes * 60_000;
  const doublings = Math.min(failures - th, 40);
  return Math.min(cap, settings.lockoutBaseSeconds * 1000 * 2 ** doublings);
}

/** The user record after a failed password check at `now`. */
export function afterFailure(u: UserRecord, settings: AuthSettings, now: number): { record: UserRecord; waitMs: number } {
  const failedLogins = u.failedLogins + 1;
  const waitMs = waitAfter(failedLogins, settings);
  return { record: { ...u, failedLogins, lockedUntil: waitMs > 0 ? now + waitMs : 0 }, waitMs };
}

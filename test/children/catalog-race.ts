/** What the workers of test/catalog-threads.test.ts race on (shared by the test and its child). */
export const RACE = {
  /** Roles g<id>_<j> granted to user alice; odd j revoked again. */
  user: 'alice',
  /** Prefixes t<id>/<j>/ granted to role shared; odd j revoked again. */
  role: 'shared',
  /** setPassword on carol: each bumps her auth epoch by one. */
  pwUser: 'carol',
  /** Failed logins on bob (lockoutThreshold 0): each adds one to failedLogins. */
  failUser: 'bob',
  passwords: 2,
  failures: 2,
} as const;

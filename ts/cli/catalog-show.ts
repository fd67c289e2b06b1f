/**
 * kvctl user show, role show, and the audit log as JSON lines: `audit tail` (the newest
 * records, oldest first; --follow polls for new ones) and `audit export --since <time>`
 * (every record from a time on, paged, for a SIEM or an archive). Both backends (--url and
 * --data-dir) answer them.
 */
import type { Command } from 'commander';
import type { AuditEntry } from '../auth/service.js';
import type { Backend } from './backend.js';
import { type Cell, CliError, fields, isoTime, nonNegativeInt, positiveInt, usage } from './common.js';

export interface ShowContext {
  withBackend(cmd: Command, fn: (b: Backend) => Promise<void>): Promise<void>;
  emit(cmd: Command, data: unknown, text: () => string): void;
}

const out = (s: string): void => void process.stdout.write(s);
const line = (e: AuditEntry): string => `${JSON.stringify(e)}\n`;

/** --since: an ISO time, milliseconds since the epoch, or an age (30s, 15m, 2h, 7d). */
export function parseSince(v: string, now = Date.now()): number {
  const age = /^(\d+)([smhd])$/.exec(v);
  if (age) return now - Number(age[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
  if (/^\d{10,}$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw usage(`--since takes an ISO time (2026-12-01T10:00:00Z), milliseconds since the epoch, or an age (30s, 15m, 2h, 7d); got ${JSON.stringify(v)}`);
  return t;
}

const PAGE = 1000;

export function addCatalogShowCommands(user: Command, role: Command, audit: Command, ctx: ShowContext): void {
  user
    .command('show')
    .description("one user: roles, lock and lockout state, failed logins, times, and the user's API keys")
    .argument('<name>', 'user name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await ctx.withBackend(cmd, async (b) => {
        const u = (await b.listUsers()).find((x) => x.name === name);
        if (!u) throw new CliError('NOT_FOUND', `no user ${JSON.stringify(name)}`);
        const keys = await b.listApiKeys(name);
        ctx.emit(cmd, { ...u, apiKeys: keys }, () => fields([
          ['name', u.name], ['oid', u.oid], ['roles', u.roles.join(', ')],
          ['locked', u.locked ? `yes: ${u.lockedReason ?? ''}${u.lockedBy ? ` (by ${u.lockedBy} at ${isoTime(u.lockedAt)})` : ''}` : 'no'],
          ['lockout until', u.lockedOutUntil ? isoTime(u.lockedOutUntil) : ''], ['failed logins', u.failedLogins],
          ['password', u.hasPassword ? `yes, changed ${isoTime(u.passwordChangedAt)}` : 'no (API keys only)'], ['metadata', u.hasMetadata ? 'yes (sealed)' : 'no'],
          ['created', isoTime(u.createdAt)],
          ['api keys', keys.length === 0 ? 'none' : keys.map((k) => `${k.name}${k.revoked ? ' (revoked)' : ''}`).join(', ')],
        ] as [string, Cell][]));
      });
    });

  role
    .command('show')
    .description('one role: its permissions, the roles it inherits, and the users that have it directly')
    .argument('<name>', 'role name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await ctx.withBackend(cmd, async (b) => {
        const r = (await b.listRoles()).find((x) => x.name === name);
        if (!r) throw new CliError('NOT_FOUND', `no role ${JSON.stringify(name)}`);
        const users = (await b.listUsers()).filter((u) => u.roles.includes(name)).map((u) => u.name);
        ctx.emit(cmd, { ...r, users }, () => fields([
          ['name', r.name], ['builtin', r.builtin ? 'yes' : 'no'],
          ['permissions', r.superuser ? 'everything (superuser)' : r.permissions.length === 0 ? 'none' : r.permissions.map((p) => `${JSON.stringify(p.prefix)}=${p.actions.join(',')}`).join(' ')],
          ['member of', r.memberOf.join(', ')], ['users', users.join(', ')],
        ]));
      });
    });

  audit
    .command('tail')
    .description('the newest audit records as JSON lines, oldest first; --follow waits for more (Ctrl-C ends)')
    .option('-n, --lines <n>', 'how many of the newest records', nonNegativeInt('--lines'), 10)
    .option('--since <time>', 'only records from this time (ISO, ms, or an age: 15m, 2h, 7d)')
    .option('-f, --follow', 'keep printing new records as they are written')
    .option('--interval <ms>', 'with --follow: poll this often', positiveInt('--interval'), 1000)
    .action(async (o: { lines: number; since?: string; follow?: boolean; interval: number }, cmd: Command) => {
      const since = o.since === undefined ? undefined : parseSince(o.since);
      await ctx.withBackend(cmd, async (b) => {
        let last: string | undefined;
        if (o.lines > 0) {
          const page = await b.audit({ limit: o.lines });
          const shown = page.entries.filter((e) => since === undefined || e.at >= since).reverse();
          for (const e of shown) out(line(e));
          last = page.entries[0]?.id;
        } else {
          last = (await b.audit({ limit: 1 })).entries[0]?.id;
        }
        if (!o.follow) return;
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        while (!stop) {
          await new Promise((r) => setTimeout(r, o.interval));
          const more = await b.readAudit({ limit: PAGE, ...(last ? { after: last } : since !== undefined ? { since } : {}) });
          for (const e of more) out(line(e));
          if (more.length > 0) last = more[more.length - 1]!.id;
        }
      });
    });

  audit
    .command('export')
    .description('every audit record from a time on, oldest first, as JSON lines (for a SIEM or an archive)')
    .requiredOption('--since <time>', 'from this time (ISO, ms, or an age: 15m, 2h, 7d); 0 = from the start')
    .action(async (o: { since: string }, cmd: Command) => {
      const since = o.since === '0' ? 0 : parseSince(o.since);
      await ctx.withBackend(cmd, async (b) => {
        let after: string | undefined;
        for (;;) {
          const page = await b.readAudit({ limit: PAGE, ...(after ? { after } : { since }) });
          for (const e of page) out(line(e));
          if (page.length < PAGE) return;
          after = page[page.length - 1]!.id;
        }
      });
    });
}

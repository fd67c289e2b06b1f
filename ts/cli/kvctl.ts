#!/usr/bin/env node
/**
 * kvctl: the administrator's command line for KVStore++ (psql + pg_ctl). Online it talks to
 * kvstored (--url / KVCTL_URL); offline it opens a data directory itself (--data-dir) when no
 * server holds it. `kvctl --help` and `kvctl <command> --help` describe everything; the
 * README has examples. No business logic here: commands parse, call a Backend, print.
 */
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Action, GrantSpec, Permission } from '../auth/service.js';
import type { EngineKind } from '../store/options.js';
import { type Backend, RemoteBackend, type StatusInfo } from './backend.js';
import {
  EXIT, type Cell, type Format, bytes, commaList, fields, isoTime, json, nonNegativeInt, normalizeUrl, parseExpiry, positiveInt, reportError, table, usage,
} from './common.js';
import { addCatalogShowCommands } from './catalog-show.js';
import { addAdminCommands } from './admin-commands.js';
import { addClusterCommands } from './cluster-commands.js';
import { addBackupCommands } from './backup-commands.js';
import { addDataCommands } from './data-commands.js';
import { credentialFor, forgetSession, saveSession, tokenFile } from './credentials.js';
import { listSegments, listSnapshots, lockHolder, readControl, requireDir } from './datadir.js';
import { ApiClient } from './http-api.js';
import { readPassword } from './secrets.js';
import { type TlsFlags, addTlsOptions, loadTls, tlsEnv } from './tls.js';
import { walInspect, walTail } from './wal-commands.js';
import { packageVersion } from '../version.js';
import { addCompletionCommand } from './completion.js';


interface GlobalOptions extends TlsFlags {
  url?: string;
  dataDir?: string;
  engine: EngineKind;
  format: Format;
  timeout: number;
}

const ACTIONS: readonly Action[] = ['read', 'write', 'delete', 'scan'];

/** The format for error output, known before commander has parsed (errors can come from parsing). */
function formatFromArgv(argv: readonly string[]): Format {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--format=json' || (argv[i] === '--format' && argv[i + 1] === 'json')) return 'json';
  }
  return 'table';
}

const g = (cmd: Command): GlobalOptions => cmd.optsWithGlobals<GlobalOptions>();
const out = (s: string): void => void process.stdout.write(s);
/** Human notes go to stderr, so that stdout holds only the command's result. */
const note = (cmd: Command, s: string): void => {
  if (g(cmd).format === 'table') process.stderr.write(s + '\n');
};

function serverUrl(cmd: Command): string | undefined {
  const o = g(cmd);
  if (o.url && o.dataDir) throw usage('give --url or --data-dir, not both');
  if (o.url) return normalizeUrl(o.url);
  if (o.dataDir) return undefined;
  return process.env.KVCTL_URL ? normalizeUrl(process.env.KVCTL_URL) : undefined;
}

function dataDir(cmd: Command): string | undefined {
  const d = g(cmd).dataDir ?? (g(cmd).url ? undefined : process.env.KVCTL_DATA_DIR);
  return d ? path.resolve(d) : undefined;
}

function apiClient(cmd: Command, url: string, withCredentials = true): ApiClient {
  const { credential, note: hint } = withCredentials ? credentialFor(url) : { credential: null, note: undefined };
  return new ApiClient(url, credential, g(cmd).timeout, hint, loadTls('KVCTL', g(cmd), url));
}

const WHERE = 'where? give --url (or KVCTL_URL) for a server, or --data-dir (or KVCTL_DATA_DIR) for a data directory no server holds';

async function openBackend(cmd: Command, create = false): Promise<Backend> {
  const url = serverUrl(cmd);
  if (url) return new RemoteBackend(apiClient(cmd, url));
  const dir = dataDir(cmd);
  if (!dir) throw usage(WHERE);
  const { LocalBackend } = await import('./local-backend.js');
  return LocalBackend.open(dir, g(cmd).engine, create);
}

/** Opens the backend, runs fn, closes the backend (also when fn fails). */
async function withBackend(cmd: Command, fn: (b: Backend) => Promise<void>, create = false): Promise<void> {
  const b = await openBackend(cmd, create);
  try {
    await fn(b);
  } finally {
    await b.close();
  }
}

/**
 * The directory for commands that read a data directory's files (wal, snapshot list). kvstored
 * serves no WAL or snapshot files over HTTP, so these never work with --url: they run on the
 * server's machine, read-only and without the lock, beside the running server.
 */
function needDir(cmd: Command, what: string): string {
  const dir = dataDir(cmd);
  if (dir) return dir;
  if (serverUrl(cmd)) throw usage(`${what} reads the files of a local data directory and does not work over --url (kvstored serves no WAL or snapshot files): run it on the server's machine with --data-dir <its data_dir>; it is read-only and works while the server runs`);
  throw usage(`${what} reads the files of a local data directory: give --data-dir (read-only, it works while a server runs)`);
}

function emit(cmd: Command, data: unknown, text: () => string): void {
  out(g(cmd).format === 'json' ? json(data) : text());
}

function parseVersion(value: string): bigint {
  if (!/^\d{1,20}$/.test(value)) throw usage(`--if-version takes a version number (an ETag without quotes), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

function parseLsn(what: string): (v: string) => bigint {
  return (v) => {
    if (!/^\d{1,20}$/.test(v)) throw usage(`${what} takes an LSN (a positive integer), got ${JSON.stringify(v)}`);
    return BigInt(v);
  };
}

/** "app:=read,scan" → { prefix: 'app:', actions }; the last "=" separates (prefixes may contain "="). */
function parsePermission(value: string, previous: Permission[] | undefined): Permission[] {
  const eq = value.lastIndexOf('=');
  if (eq < 0) throw usage(`--allow takes PREFIX=ACTIONS, e.g. --allow 'app:=read,scan', got ${JSON.stringify(value)}`);
  return [...(previous ?? []), { prefix: value.slice(0, eq), actions: parseActions(value.slice(eq + 1)) }];
}

function parseActions(value: string): Action[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 1 && list[0] === 'all') return [...ACTIONS];
  for (const a of list) if (!ACTIONS.includes(a as Action)) throw usage(`unknown action ${JSON.stringify(a)}: actions are ${ACTIONS.join(', ')} or all`);
  if (list.length === 0) throw usage('give at least one action: read, write, delete, scan (or all)');
  return list as Action[];
}

interface GrantFlags {
  role: string;
  user?: string;
  member?: string;
  prefix?: string;
  actions?: Action[];
}

function grantSpec(o: GrantFlags): GrantSpec {
  const kinds = [o.user, o.member, o.prefix].filter((x) => x !== undefined).length;
  if (kinds !== 1) throw usage('give exactly one of --user (role to a user), --member (role to a role) or --prefix (actions on a prefix to a role)');
  if (o.actions && o.prefix === undefined) throw usage('--actions goes with --prefix');
  if (o.user !== undefined) return { role: o.role, user: o.user };
  if (o.member !== undefined) return { role: o.role, member: o.member };
  return o.actions ? { role: o.role, prefix: o.prefix!, actions: o.actions } : { role: o.role, prefix: o.prefix! };
}

function describeGrant(s: GrantSpec): string {
  if ('user' in s) return `role ${s.role} to user ${s.user}`;
  if ('member' in s) return `role ${s.role} to role ${s.member} (it inherits ${s.role})`;
  return `${(s.actions ?? ACTIONS).join(',')} on prefix ${JSON.stringify(s.prefix)} to role ${s.role}`;
}

function statusText(s: StatusInfo): string {
  const pairs: Array<[string, Cell]> = Object.entries(s).map(([k, v]) => {
    if (typeof v === 'number' && /Bytes$|^memory/.test(k)) return [k, `${bytes(v)} (${v})`];
    return [k, v === null ? '-' : v];
  });
  return fields(pairs);
}

/** Status of a directory a server holds: what its files say, without opening it. */
function directoryStatus(dir: string, holder: number): StatusInfo {
  const control = readControl(dir);
  const segs = listSegments(dir);
  const snaps = listSnapshots(dir, false).filter((s) => s.current);
  return {
    source: `data directory ${dir}`,
    state: `held by pid ${holder} (a running server): figures from its files; use --url for live ones`,
    recovery: 'done by the holder',
    lastCheckpointLsn: control ? String(control.redoLsn) : null,
    lastCheckpointTime: control ? new Date(control.checkpointTimeMs).toISOString() : null,
    snapshotEntries: snaps[0]?.entries !== undefined && snaps[0]?.entries !== null ? Number(snaps[0].entries) : null,
    walBytes: segs.reduce((n, s) => n + s.bytes, 0),
    walSegments: segs.length,
  };
}

// ---------------------------------------------------------------- the program

function build(): Command {
  const program = new Command('kvctl');
  program
    .description('Administer KVStore++: users, roles, grants, API keys, data, WAL, snapshots, status and replication — through a server (--url) or on a data directory (--data-dir).')
    .version(packageVersion())
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addOption(new Option('--url <url>', 'kvstored base URL, e.g. http://127.0.0.1:8080 (default: $KVCTL_URL)'))
    .addOption(new Option('--data-dir <dir>', 'work on this data directory directly; no server may hold it, except for the read-only wal, snapshot list and status (default: $KVCTL_DATA_DIR)'))
    .addOption(new Option('--engine <engine>', 'storage engine for --data-dir').choices(['auto', 'native', 'js']).default('auto'))
    .addOption(new Option('--format <format>', 'output: a table for people or JSON for scripts').choices(['table', 'json']).default('table'))
    .addOption(new Option('--timeout <ms>', 'HTTP request timeout').argParser(positiveInt('--timeout')).default(30_000));
  addTlsOptions(program, 'KVCTL')
    .addHelpText('after', `
Credentials (online), in order: KVCTL_API_KEY (X-API-Key), KVCTL_TOKEN (Bearer), the session
cached by \`kvctl login\` in ${tokenFile()} (0600; KVCTL_CONFIG_DIR or XDG_CONFIG_HOME move it).
Passwords are prompted without echo on a terminal, or read from stdin (--password-stdin);
never pass secrets as arguments. HTTPS with a private CA or mutual TLS: --cacert, --cert and
--key, or ${tlsEnv('KVCTL').ca}, ${tlsEnv('KVCTL').cert}, ${tlsEnv('KVCTL').key}.

Exit codes: 0 ok · 1 failed (server or storage error, not found, conflict, unreachable, directory
held) · 2 usage error · 3 authentication or permission failure.

Examples:
  kvctl login admin --url http://127.0.0.1:8080
  kvctl user create alice --password --role=writer,reader
  kvctl user list --format=json
  kvctl grant --user=alice --role=admin
  kvctl role create app-ro --allow 'app:=read,scan'
  kvctl apikey create k8s-prod-app-01 --owner alice --expires 90d
  kvctl keys --pattern "user:*"
  kvctl --data-dir ./data wal inspect --from-lsn 100 --limit 20
  kvctl --url http://127.0.0.1:8081 cluster status      # replication; needs a running server
  kvctl --url http://127.0.0.1:8081 cluster promote`);

  // ------------------------------------------------------------ sessions
  program
    .command('login')
    .description('log in to a server and cache the session token (0600 file) for later commands')
    .argument('<user>', 'user name')
    .option('--password-stdin', 'read the password from stdin even on a terminal')
    .action(async (user: string, o: { passwordStdin?: boolean }, cmd: Command) => {
      const url = serverUrl(cmd);
      if (!url) throw usage('login needs a server: give --url or set KVCTL_URL');
      const password = await readPassword({ ...(o.passwordStdin ? { stdin: true } : {}), prompt: `Password for ${user}@${url}: ` });
      const r = await apiClient(cmd, url, false).json<{ token: string; expiresAt: string }>('POST', '/v1/auth/login', { json: { name: user, password } });
      const expiresAt = Date.parse(r.expiresAt);
      const file = saveSession(url, { user, token: r.token, expiresAt });
      emit(cmd, { user, url, expiresAt: r.expiresAt, tokenFile: file }, () => `logged in to ${url} as ${user} until ${isoTime(expiresAt)} (session cached in ${file})\n`);
    });

  program
    .command('logout')
    .description('forget the cached session for the server')
    .action(async (_o: unknown, cmd: Command) => {
      const url = serverUrl(cmd);
      if (!url) throw usage('logout needs a server: give --url or set KVCTL_URL');
      const had = forgetSession(url);
      emit(cmd, { url, forgotten: had }, () => (had ? `forgot the session for ${url}\n` : `no cached session for ${url}\n`));
    });

  program
    .command('whoami')
    .description('who the server takes you for, and your effective roles')
    .action(async (_o: unknown, cmd: Command) => {
      const url = serverUrl(cmd);
      if (!url) throw usage('whoami needs a server: give --url or set KVCTL_URL');
      const w = await apiClient(cmd, url).json<{ user: string | null; type?: string; keyName?: string | null; roles?: string[]; admin?: boolean }>('GET', '/v1/auth/whoami');
      emit(cmd, w, () => fields([['user', w.user ?? '(anonymous: authentication is off)'], ['via', w.keyName ? `API key ${w.keyName}` : w.type], ['roles', (w.roles ?? []).join(', ')], ['admin', w.admin]]));
    });

  // ------------------------------------------------------------ users
  const user = program.command('user').description('create, list, change and drop users');
  user
    .command('create')
    .description('create a user; with --password it can log in, without it uses API keys only')
    .argument('<name>', 'user name (1-63 characters)')
    .option('--password', 'set a password: prompted twice without echo on a terminal, else read from stdin')
    .option('--password-stdin', 'set a password read from stdin')
    .option('--role <roles>', 'roles to grant, comma-separated (repeatable)', commaList)
    .action(async (name: string, o: { password?: boolean; passwordStdin?: boolean; role?: string[] }, cmd: Command) => {
      const password = o.password || o.passwordStdin ? await readPassword({ ...(o.passwordStdin ? { stdin: true } : {}), confirm: true, prompt: `Password for new user ${name}: ` }) : undefined;
      await withBackend(cmd, async (b) => {
        const u = await b.createUser(name, { ...(password === undefined ? {} : { password }), ...(o.role ? { roles: o.role } : {}) });
        emit(cmd, u, () => `created user ${u.name}${u.roles.length ? ` with roles ${u.roles.join(', ')}` : ''}${u.hasPassword ? '' : ' (no password: API keys only)'}\n`);
      }, true);
    });
  user
    .command('list')
    .description('list users')
    .action(async (_o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const users = await b.listUsers();
        emit(cmd, users, () =>
          table(['name', 'roles', 'locked', 'password', 'failed logins', 'created'], users.map((u) => [
            u.name, u.roles.join(','), u.locked ? `yes: ${u.lockedReason ?? ''}` : u.lockedOutUntil ? `lockout until ${isoTime(u.lockedOutUntil)}` : 'no',
            u.hasPassword ? 'yes' : 'no', u.failedLogins, isoTime(u.createdAt),
          ])));
      });
    });
  user
    .command('passwd')
    .description("set a user's password (prompted twice without echo, or read from stdin); ends the user's sessions")
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the password from stdin even on a terminal')
    .action(async (name: string, o: { passwordStdin?: boolean }, cmd: Command) => {
      const password = await readPassword({ ...(o.passwordStdin ? { stdin: true } : {}), confirm: true, prompt: `New password for ${name}: ` });
      await withBackend(cmd, async (b) => {
        await b.setPassword(name, password);
        emit(cmd, { user: name, passwordChanged: true }, () => `password of ${name} changed; their sessions have ended\n`);
      });
    });
  user
    .command('lock')
    .description('lock a user: no login, no session, no API key works until unlocked')
    .argument('<name>', 'user name')
    .option('--reason <text>', 'why (recorded in the user and the audit log)', 'locked by an administrator')
    .action(async (name: string, o: { reason: string }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        await b.lockUser(name, o.reason);
        emit(cmd, { user: name, locked: true, reason: o.reason }, () => `locked ${name}: ${o.reason}\n`);
      });
    });
  user
    .command('unlock')
    .description('unlock a user (also clears a failed-login lockout)')
    .argument('<name>', 'user name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        await b.unlockUser(name);
        emit(cmd, { user: name, locked: false }, () => `unlocked ${name}\n`);
      });
    });
  user
    .command('drop')
    .description('drop a user and revoke their API keys')
    .argument('<name>', 'user name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        await b.dropUser(name);
        emit(cmd, { user: name, dropped: true }, () => `dropped user ${name}\n`);
      });
    });

  // ------------------------------------------------------------ grants
  for (const verb of ['grant', 'revoke'] as const) {
    program
      .command(verb)
      .description(verb === 'grant'
        ? 'grant a role to a user (--user), a role to a role (--member), or actions on a key prefix to a role (--prefix, --actions)'
        : 'revoke what grant gave: a role from a user or a role, or a prefix permission from a role')
      .requiredOption('--role <role>', 'the role')
      .option('--user <name>', `${verb === 'grant' ? 'to' : 'from'} this user`)
      .option('--member <role>', `${verb === 'grant' ? 'to' : 'from'} this role (it inherits --role)`)
      .option('--prefix <prefix>', 'a key prefix ("" = every key)')
      .option('--actions <list>', 'with --prefix: read,write,delete,scan or all (default all)', parseActions)
      .action(async (o: GrantFlags, cmd: Command) => {
        const spec = grantSpec(o);
        await withBackend(cmd, async (b) => {
          await (verb === 'grant' ? b.grant(spec) : b.revoke(spec));
          emit(cmd, { [verb]: spec }, () => `${verb === 'grant' ? 'granted' : 'revoked'} ${describeGrant(spec)}\n`);
        });
      });
  }

  // ------------------------------------------------------------ roles
  const role = program.command('role').description('create, list and drop roles (prefix permissions, inheritance)');
  role
    .command('create')
    .description('create a role with prefix permissions and/or parent roles')
    .argument('<name>', 'role name')
    .option('--allow <prefix=actions>', "a prefix permission, e.g. 'app:=read,scan' or 'tmp:=all' (repeatable)", parsePermission)
    .option('--member-of <roles>', 'inherit these roles, comma-separated', commaList)
    .action(async (name: string, o: { allow?: Permission[]; memberOf?: string[] }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const r = await b.createRole(name, { ...(o.allow ? { permissions: o.allow } : {}), ...(o.memberOf ? { memberOf: o.memberOf } : {}) });
        emit(cmd, r, () => `created role ${r.name}${r.permissions.length ? `: ${r.permissions.map((p) => `${JSON.stringify(p.prefix)}=${p.actions.join(',')}`).join(' ')}` : ''}${r.memberOf.length ? `; member of ${r.memberOf.join(', ')}` : ''}\n`);
      }, true);
    });
  role
    .command('list')
    .description('list roles with their permissions')
    .action(async (_o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const roles = await b.listRoles();
        emit(cmd, roles, () =>
          table(['name', 'builtin', 'permissions', 'member of'], roles.map((r) => [
            r.name, r.builtin ? 'yes' : 'no',
            r.superuser ? 'everything (superuser)' : r.permissions.map((p) => `${JSON.stringify(p.prefix)}=${p.actions.join(',')}`).join(' '),
            r.memberOf.join(','),
          ])));
      });
    });
  role
    .command('drop')
    .description('drop a role (not a built-in one)')
    .argument('<name>', 'role name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        await b.dropRole(name);
        emit(cmd, { role: name, dropped: true }, () => `dropped role ${name}\n`);
      });
    });

  // ------------------------------------------------------------ API keys
  const apikey = program.command('apikey').description('create, list and revoke API keys');
  apikey
    .command('create')
    .description('create an API key for a user; the secret is printed once (stdout) and never stored')
    .argument('<name>', 'key name, e.g. k8s-prod-app-01')
    .requiredOption('--owner <user>', 'the user the key acts as')
    .option('--role <roles>', "restrict to a subset of the owner's roles, comma-separated", commaList)
    .option('--expires <when>', 'a duration from now (90d, 12h, 30m) or an ISO 8601 time')
    .option('--allow-ip <cidrs>', 'usable only from these addresses/CIDRs, comma-separated (repeatable)', commaList)
    .action(async (name: string, o: { owner: string; role?: string[]; expires?: string; allowIp?: string[] }, cmd: Command) => {
      const expiresAt = o.expires === undefined ? undefined : parseExpiry(o.expires);
      await withBackend(cmd, async (b) => {
        const r = await b.createApiKey(o.owner, { name, ...(o.role ? { roles: o.role } : {}), ...(expiresAt === undefined ? {} : { expiresAt }), ...(o.allowIp ? { allowIps: o.allowIp } : {}) });
        note(cmd, `created API key ${r.record.name} (id ${r.record.id}) for ${r.record.owner}${r.record.expiresAt ? `, expires ${isoTime(r.record.expiresAt)}` : ''}; the secret below is shown only now:`);
        emit(cmd, r, () => r.token + '\n');
      });
    });
  apikey
    .command('list')
    .description('list API keys (never their secrets)')
    .option('--owner <user>', 'only this user’s keys')
    .action(async (o: { owner?: string }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const keys = await b.listApiKeys(o.owner);
        emit(cmd, keys, () =>
          table(['name', 'id', 'owner', 'roles', 'expires', 'allow ips', 'last used', 'revoked'], keys.map((k) => [
            k.name, k.id, k.owner, k.roles ? k.roles.join(',') : '(owner’s)', isoTime(k.expiresAt), k.allowIps ? k.allowIps.join(',') : '(any)',
            isoTime(k.lastUsedAt), k.revoked ? `yes ${isoTime(k.revokedAt)}` : 'no',
          ])));
      });
    });
  apikey
    .command('revoke')
    .description('revoke an API key by name (or id): the next request with it fails')
    .argument('<name>', 'key name or id')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        await b.revokeApiKey(name);
        emit(cmd, { apiKey: name, revoked: true }, () => `revoked API key ${name}\n`);
      });
    });

  addDataCommands(program, { withBackend: (cmd, fn, create) => withBackend(cmd, fn, create), emit, format: (cmd) => g(cmd).format, parseVersion });

  // ------------------------------------------------------------ WAL, snapshots, checkpoints, status
  const wal = program.command('wal').description('read the write-ahead log of a local data directory (--data-dir; not over --url): read-only, no lock, works while a server runs');
  wal
    .command('inspect')
    .description('decode WAL records: LSN, segment, offset, kind, key(s), size, CRC status; reports torn tails and corruption (exit 1 if corrupt)')
    .option('--from-lsn <lsn>', 'start at this LSN', parseLsn('--from-lsn'))
    .option('--to-lsn <lsn>', 'stop after this LSN', parseLsn('--to-lsn'))
    .option('--limit <n>', 'at most this many records', positiveInt('--limit'))
    .option('--segment <name>', 'only this segment file (e.g. 0000000000000001.wal)')
    .option('--values', 'show values (catalog values under _sys. stay hidden)')
    .option('--step', 'step through records one at a time: Enter shows the next, q quits')
    .action(async (o: { fromLsn?: bigint; toLsn?: bigint; limit?: number; segment?: string; values?: boolean; step?: boolean }, cmd: Command) => {
      const dir = needDir(cmd, 'wal inspect');
      const code = await walInspect(dir, o, g(cmd).format);
      if (code !== 0) process.exitCode = code;
    });
  wal
    .command('tail')
    .description('print the last WAL records, then follow new ones as they are written (Ctrl-C stops)')
    .option('-n, --lines <n>', 'how many past records to show first', nonNegativeInt('--lines'), 10)
    .option('--no-follow', 'print the last records and exit')
    .option('--interval <ms>', 'poll interval while following', positiveInt('--interval'), 200)
    .option('--values', 'show values (catalog values under _sys. stay hidden)')
    .action(async (o: { lines: number; follow: boolean; interval: number; values?: boolean }, cmd: Command) => {
      const dir = needDir(cmd, 'wal tail');
      await walTail(dir, { lines: o.lines, follow: o.follow, intervalMs: o.interval, ...(o.values ? { values: true } : {}) }, g(cmd).format);
    });

  const checkpointAction = (kind: 'checkpoint' | 'snapshot') => async (_o: unknown, cmd: Command): Promise<void> => {
    await withBackend(cmd, async (b) => {
      const t0 = performance.now();
      const { redoLsn } = await b.checkpoint();
      const ms = Math.round(performance.now() - t0);
      const snapshot = `snapshot-${BigInt(redoLsn).toString(16).padStart(16, '0')}.snap`;
      emit(cmd, { redoLsn, snapshot, ms }, () =>
        kind === 'checkpoint'
          ? `checkpoint done in ${ms} ms: redo LSN ${redoLsn} (base/${snapshot}); WAL segments wholly before it are dropped\n`
          : `wrote base/${snapshot} (redo LSN ${redoLsn}) in ${ms} ms\n`);
    });
  };
  const snapshot = program.command('snapshot').description('create and list snapshots (checkpoints)');
  snapshot.command('create').description('write a snapshot now (a fuzzy checkpoint; reads and writes go on)').action(checkpointAction('snapshot'));
  snapshot
    .command('list')
    .description("list a local data directory's snapshots (--data-dir; not over --url) and which one control names (read-only)")
    .option('--verify', 'check each snapshot’s CRC (reads them whole)')
    .action(async (o: { verify?: boolean }, cmd: Command) => {
      const dir = needDir(cmd, 'snapshot list');
      requireDir(dir);
      const snaps = listSnapshots(dir, o.verify === true);
      emit(cmd, snaps.map((s) => ({ ...s, redoLsn: s.redoLsn === null ? null : String(s.redoLsn), entries: s.entries === null ? null : String(s.entries), modified: new Date(s.modifiedMs).toISOString() })), () =>
        table(['name', 'redo lsn', 'entries', 'size', 'modified', 'current', ...(o.verify ? ['check'] : [])], snaps.map((s) => [
          s.name, s.redoLsn === null ? '?' : String(s.redoLsn), s.entries === null ? '?' : String(s.entries), bytes(s.bytes), isoTime(s.modifiedMs),
          s.inProgress ? 'being written' : s.current ? 'yes' : 'no', ...(o.verify ? [s.check ?? ''] : []),
        ])) + (snaps.length === 0 ? '(no snapshot: no checkpoint has run yet)\n' : ''));
    });
  program.command('checkpoint').description('run a checkpoint now: snapshot, update control, drop WAL it covers').action(checkpointAction('checkpoint'));

  program
    .command('status')
    .description('state, recovery, engine, key count, memory, WAL size, last checkpoint')
    .action(async (_o: unknown, cmd: Command) => {
      const dir = serverUrl(cmd) ? undefined : dataDir(cmd);
      if (dir) {
        requireDir(dir);
        const holder = lockHolder(dir);
        if (holder !== null) {
          const s = directoryStatus(dir, holder);
          emit(cmd, s, () => statusText(s));
          return;
        }
      }
      await withBackend(cmd, async (b) => {
        const s = await b.status();
        emit(cmd, s, () => statusText(s));
      });
    });

  const audit = program.command('audit');
  audit
    .description('the audit log, newest first: logins, lockouts, every catalog change (tail and export: JSON lines)')
    .option('--limit <n>', 'entries per page', positiveInt('--limit'), 50)
    .option('--before <id>', 'the page before this entry id (printed at the end of each page)')
    .action(async (o: { limit: number; before?: string }, cmd: Command) => {
      await withBackend(cmd, async (b) => {
        const page = await b.audit({ limit: o.limit, ...(o.before ? { before: o.before } : {}) });
        emit(cmd, page, () =>
          table(['time', 'actor', 'action', 'target', 'ip', 'ok', 'detail'], page.entries.map((e) => [isoTime(e.at), e.actor, e.action, e.target, e.ip ?? '', e.ok ? 'yes' : 'NO', e.detail ?? ''])) +
            (page.next ? `(older entries: --before ${page.next})\n` : ''));
      });
    });

  addCatalogShowCommands(user, role, audit, { withBackend: (cmd, fn) => withBackend(cmd, fn), emit });
  addAdminCommands(program, { dataDir, serverUrl, engine: (cmd) => g(cmd).engine, emit, apiClient: (cmd, url) => apiClient(cmd, url) });
  addBackupCommands(program, { withBackend: (cmd, fn) => withBackend(cmd, fn), emit });
  addClusterCommands(program, { serverUrl, hasDataDir: (cmd) => dataDir(cmd) !== undefined, apiClient, emit });
  addCompletionCommand(program, (text) => void process.stdout.write(text));
  return program;
}

async function main(): Promise<void> {
  const format = formatFromArgv(process.argv);
  const program = build();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the message or the help already
      process.exitCode = err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    process.exitCode = reportError('kvctl', err, format);
  }
}

// `kvctl keys | head -1`: a reader that goes away early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
void main();

/**
 * What kvctl and kvb share: exit codes, the CLI error type, output formatting (aligned
 * tables for people, JSON for scripts) and small parsers for option values.
 *
 * Exit codes (documented in the README and in `kvctl --help`):
 *   0  success
 *   1  the operation failed: a server or storage error, not found, a conflict, an
 *      unreachable server, a data directory held by another process
 *   2  usage: the command line is wrong (unknown option, missing argument, bad value)
 *   3  authentication or authorization failed (no or bad credentials, locked user,
 *      revoked key, expired session, permission denied)
 */
import { isErrorCode } from '../errors.js';

/** Output of the CLIs: a table for people or JSON for scripts (--format). */
export type Format = 'table' | 'json';

/** 130 = 128 + SIGINT: Ctrl-C, as shells report an interrupted program. */
export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, AUTH: 3, INTERRUPTED: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error that ends a command: `code` is one of the library's stable codes (docs/errors.md)
 * or a CLI code (USAGE, UNREACHABLE, LOCKED_BY_SERVER, CORRUPT_WAL, INTERRUPTED, PASSWORD_MISMATCH).
 */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, exitCode?: ExitCode) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode ?? exitFor(code);
  }
}

export function exitFor(code: string): ExitCode {
  if (code === 'USAGE') return EXIT.USAGE;
  if (code === 'AUTH_FAILED' || code === 'PERMISSION_DENIED') return EXIT.AUTH;
  return EXIT.ERROR;
}

export const usage = (message: string): CliError => new CliError('USAGE', message, EXIT.USAGE);

/** Any thrown value → CliError, keeping a library error's stable code. */
export function toCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (isErrorCode(code)) return new CliError(code, message);
  return new CliError('INTERNAL', message);
}

/** Prints the error on stderr (a JSON object when the output format is json) and returns its exit code. */
export function reportError(prog: string, err: unknown, format: Format): ExitCode {
  const e = toCliError(err);
  if (format === 'json') process.stderr.write(JSON.stringify({ error: { code: e.code, message: e.message, exitCode: e.exitCode } }) + '\n');
  else process.stderr.write(`${prog}: ${e.code === 'USAGE' ? '' : `${e.code}: `}${e.message}\n`);
  return e.exitCode;
}

// ---------------------------------------------------------------- output

export type Cell = string | number | boolean | null | undefined;

/** An aligned text table with a header row, like psql's; numbers are right-aligned. */
export function table(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = columns.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || typeof r[i] === 'number'));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(columns.map((c) => c.replace(/[a-z]/g, (ch) => ch.toUpperCase()))), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)];
  return out.join('\n') + '\n';
}

/** A two-column "field: value" listing for one object. */
export function fields(pairs: ReadonlyArray<readonly [string, Cell]>): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${(k + ':').padEnd(w + 1)} ${v === null || v === undefined ? '' : String(v)}`).join('\n') + '\n';
}

export function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';
}

export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms === 0) return '';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** A key for display: UTF-8 text when it is printable, else 0x-hex. */
export function showKey(key: Buffer): string {
  const s = key.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(s, 'utf8').equals(key) && !/[\u0000-\u001f\u007f]/.test(s)) return s;
  return '0x' + key.toString('hex');
}

// ---------------------------------------------------------------- option parsers

/** "a,b" (and repeated flags) → ['a', 'b']; for commander's custom option parsers. */
export function commaList(value: string, previous: string[] | undefined): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return [...(previous ?? []), ...items];
}

export function positiveInt(what: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw usage(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

export function nonNegativeInt(what: string): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw usage(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

export function positiveNumber(what: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw usage(`${what} must be a positive number, got ${JSON.stringify(value)}`);
    return n;
  };
}

export function fraction(what: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw usage(`${what} must be a number from 0 to 1, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** "30d", "12h", "15m", "90s" from now, or an ISO 8601 date-time → ms since the epoch. */
export function parseExpiry(value: string, now = Date.now()): number {
  const rel = /^(\d+)([smhd])$/.exec(value.trim());
  if (rel) return now + Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw usage(`--expires takes a duration (30d, 12h, 15m) or an ISO 8601 time, got ${JSON.stringify(value)}`);
  return t;
}

/** The server's base URL without a trailing slash; refuses anything but http(s). */
export function normalizeUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw usage(`--url must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw usage(`--url must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
  if (u.username || u.password) throw usage('--url must not carry credentials: use KVCTL_TOKEN, KVCTL_API_KEY or kvctl login');
  return (u.origin + u.pathname).replace(/\/+$/, '');
}

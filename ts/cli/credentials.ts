/**
 * Where kvctl's credentials come from, in order: KVCTL_API_KEY (sent as X-API-Key),
 * KVCTL_TOKEN (a session token, sent as Authorization: Bearer), then the session that
 * `kvctl login` cached for that server URL.
 *
 * The cache is $KVCTL_CONFIG_DIR/token.json, else $XDG_CONFIG_HOME/kvctl/token.json, else
 * ~/.config/kvctl/token.json: a 0600 file in a 0700 directory, replaced atomically, holding
 * one session per server URL. Only the token is kept, never the password.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Credential = { kind: 'apikey'; secret: string } | { kind: 'token'; secret: string; user?: string; expiresAt?: number };

interface CachedSession {
  user: string;
  token: string;
  /** ms since the epoch */
  expiresAt: number;
}

interface CacheFile {
  version: 1;
  sessions: Record<string, CachedSession>;
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KVCTL_CONFIG_DIR) return env.KVCTL_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'kvctl');
}

export function tokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'token.json');
}

function readCache(file: string): CacheFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, sessions: {} };
    throw err;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    if (parsed.version === 1 && parsed.sessions && typeof parsed.sessions === 'object') return { version: 1, sessions: parsed.sessions };
  } catch {
    // an unreadable cache is as good as none; the next login rewrites it
  }
  return { version: 1, sessions: {} };
}

function writeCache(file: string, cache: CacheFile): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  // Created 0600 from the start (never world-readable, not even for an instant), then renamed over.
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(cache, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(tmp, 0o600); // in case the file existed with looser bits
  fs.renameSync(tmp, file);
}

export function saveSession(url: string, session: CachedSession, env: NodeJS.ProcessEnv = process.env): string {
  const file = tokenFile(env);
  const cache = readCache(file);
  cache.sessions[url] = session;
  writeCache(file, cache);
  return file;
}

/** Removes the cached session for url; true if there was one. */
export function forgetSession(url: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const file = tokenFile(env);
  const cache = readCache(file);
  if (!(url in cache.sessions)) return false;
  delete cache.sessions[url];
  writeCache(file, cache);
  return true;
}

/** The credential to use for url, or null. An expired cached session counts as none (and says so). */
export function credentialFor(url: string, env: NodeJS.ProcessEnv = process.env, now = Date.now()): { credential: Credential | null; note?: string } {
  if (env.KVCTL_API_KEY) return { credential: { kind: 'apikey', secret: env.KVCTL_API_KEY.trim() } };
  if (env.KVCTL_TOKEN) return { credential: { kind: 'token', secret: env.KVCTL_TOKEN.trim() } };
  const s = readCache(tokenFile(env)).sessions[url];
  if (!s) return { credential: null, note: `no credentials for ${url}: run \`kvctl login <user> --url ${url}\`, or set KVCTL_API_KEY or KVCTL_TOKEN` };
  if (s.expiresAt <= now) return { credential: null, note: `the session of ${s.user} for ${url} expired at ${new Date(s.expiresAt).toISOString()}: run \`kvctl login ${s.user}\`` };
  return { credential: { kind: 'token', secret: s.token, user: s.user, expiresAt: s.expiresAt } };
}

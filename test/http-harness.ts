/**
 * A kvstored (buildServer) on an ephemeral loopback port for the hardening tests, plus raw
 * socket requests: the bytes a broken or hostile client sends, from a chosen local address
 * (127.0.0.2, …) so the server sees different peers.
 */
import net from 'node:net';
import { AuthService, open, type Store } from '../ts/index.js';
import { type ServerConfig, loadConfig } from '../ts/server/config.js';
import { type BuiltServer, buildServer } from '../ts/server/server.js';
import { tempDir } from './helpers.js';

export const ADMIN_PW = 'admin password 1234';

export interface Harness {
  db: Store;
  auth: AuthService;
  server: BuiltServer;
  url: string;
  port: number;
  admin: string;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<ServerConfig> = {}, host = '127.0.0.1'): Promise<Harness> {
  const dir = tempDir('hard');
  const { config } = loadConfig([], {});
  const cfg: ServerConfig = { ...config, dataDir: dir, port: 0, logLevel: 'silent', ...overrides };
  const db = await open({ dir, engine: 'js' });
  const auth = await AuthService.open(db);
  await auth.createFirstAdmin({ password: ADMIN_PW });
  const server = await buildServer(cfg, db, auth);
  const url = await server.app.listen({ host, port: 0 });
  const port = (server.app.server.address() as net.AddressInfo).port;
  const admin = await login(url, 'admin', ADMIN_PW);
  return {
    db, auth, server, url, port, admin,
    close: async () => {
      await server.app.close();
      await auth.close();
      await db.close();
    },
  };
}

export async function login(url: string, name: string, password: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name, password }) });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The connection was closed by the server after the response. */
  closed: boolean;
}

/**
 * Writes `bytes` on a new connection (from `localAddress` when given) and reads until the
 * server closes it or `timeoutMs` passes; parses the first response (Content-Length bodies only).
 */
export function rawRequest(port: number, bytes: string | Buffer, opts: { localAddress?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    const chunks: Buffer[] = [];
    let closed = false;
    const timer = setTimeout(() => sock.destroy(), opts.timeoutMs ?? 5_000);
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {}); // a reset after the response is read is fine; no response fails below
    sock.on('end', () => (closed = true));
    sock.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      if (head < 0 || !m) return reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
      const headers: Record<string, string> = {};
      for (const line of text.slice(0, head).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? NaN);
      const body = Number.isNaN(len) ? text.slice(head + 4) : text.slice(head + 4, head + 4 + len);
      resolve({ status: Number(m[1]), headers, body, closed });
    });
    sock.write(bytes);
    // Half-close only when asked for one full request: a parser error closes from the server side.
    sock.on('connect', () => {});
  });
}

/**
 * A real kvstored child process for the client and gRPC tests: started with the HTTP port
 * and the gRPC port on any free port (0), its URLs read from the start-up log line, stopped
 * with SIGTERM (and its exit code checked by the caller when it matters).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot, tempDir } from './helpers.js';

export const MAIN = path.join(repoRoot, 'dist', 'ts', 'server', 'main.js');
export const ADMIN_PASSWORD = 'operator password 42';

export interface Kvstored {
  child: ChildProcess;
  /** The HTTP URL (`http://127.0.0.1:port` or https). */
  url: string;
  /** The gRPC URL (`grpc://127.0.0.1:port` or grpcs), when started with a gRPC port. */
  grpc: string;
  dir: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts kvstored on loopback with `--port 0 --grpc-port 0` and the admin password ADMIN_PASSWORD, plus `args`. */
export function startKvstored(args: string[] = [], opts: { dir?: string; grpc?: boolean; env?: Record<string, string> } = {}): Promise<Kvstored> {
  const dir = opts.dir ?? tempDir('kvd');
  const child = spawn(process.execPath, [MAIN, '--data-dir', dir, '--port', '0', ...(opts.grpc === false ? [] : ['--grpc-port', '0']), '--log-level', 'info', ...args], {
    env: { PATH: process.env.PATH ?? '', KVSTORE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => void (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kvstored did not start in 20 s: ${out} ${err}`));
    }, 20_000);
    const look = (): void => {
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        clearTimeout(timer);
        child.stdout!.off('data', look);
        const l = JSON.parse(line) as { url: string; grpc?: string };
        resolve({
          child, url: l.url, grpc: l.grpc ?? '', dir, exited, stdout: () => out, stderr: () => err,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
        return;
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kvstored exited with ${code} before listening: ${out} ${err}`));
    });
  });
}

/** A session token for name/password from the HTTP API. */
export async function loginToken(url: string, name = 'admin', password = ADMIN_PASSWORD): Promise<string> {
  const r = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
  if (r.status !== 200) throw new Error(`login ${name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

/** Calls an admin route of the HTTP API as `token`; throws unless it answers 2xx. */
export async function adminCall(url: string, token: string, method: string, route: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${url}/v1/admin/${route}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} /v1/admin/${route}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

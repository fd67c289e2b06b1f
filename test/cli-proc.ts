/**
 * Real binaries for the kvctl / kvb tests: a kvstored child process on an ephemeral port over
 * a real data directory, and runs of dist/ts/cli/{kvctl,kvb}.js with their exit status and
 * output. Secrets go through stdin and the environment, as the tools require.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { ENGINES, repoRoot } from './helpers.js';

export const KVCTL = path.join(repoRoot, 'dist', 'ts', 'cli', 'kvctl.js');
export const KVB = path.join(repoRoot, 'dist', 'ts', 'cli', 'kvb.js');
const KVSTORED = path.join(repoRoot, 'dist', 'ts', 'server', 'main.js');

export const ADMIN_PASSWORD = 'admin password 1234';

export interface Server {
  url: string;
  dir: string;
  proc: ChildProcess;
  stop(): Promise<number | null>;
  /** SIGKILL; resolves once the process is gone and reaped (its LOCK is free again). */
  kill(): Promise<number | null>;
}

/**
 * Starts kvstored on dir (first admin "admin" / ADMIN_PASSWORD) and resolves once it listens.
 * `env` adds variables (KVSTORE_REPLICATION_API_KEY for a standby).
 */
export function startKvstored(dir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Server> {
  const proc = spawn(process.execPath, [KVSTORED, '--data-dir', dir, '--port', '0', '--log-level', 'info', '--engine', ENGINES[0]!, '--login-rate-limit', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KVSTORE_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
  });
  let out = '';
  let err = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => void (err += c));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kvstored did not start in 30 s; stdout ${out.slice(-2000)} stderr ${err.slice(-2000)}`)), 30_000);
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (c: string) => {
      out += c;
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const url = (JSON.parse(line) as { url: string }).url;
        clearTimeout(timer);
        out = '';
        resolve({
          url, dir, proc,
          stop: async () => {
            proc.kill('SIGTERM');
            return exited;
          },
          kill: async () => {
            proc.kill('SIGKILL');
            return exited;
          },
        });
        return;
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kvstored exited (${code}) before listening: ${err.slice(-2000)}`));
    });
  });
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** Runs a CLI to completion. Environment: this process's, minus KVCTL_* / KVB_*, plus opts.env. */
export function runCli(bin: string, args: string[], opts: RunOptions = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KVCTL_') && !k.startsWith('KVB_')));
  const env = { ...base, ...opts.env } as NodeJS.ProcessEnv;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (c: string) => void (stdout += c));
  proc.stderr!.on('data', (c: string) => void (stderr += c));
  proc.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  return new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts a CLI and leaves it running (wal tail, kvb runs to interrupt). */
export function startCli(bin: string, args: string[], env: Record<string, string> = {}): { proc: ChildProcess; output: () => string; stderr: () => string; done: Promise<Run> } {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KVCTL_') && !k.startsWith('KVB_')));
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (c: string) => void (stdout += c));
  proc.stderr!.on('data', (c: string) => void (stderr += c));
  const done = new Promise<Run>((resolve) => proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { proc, output: () => stdout, stderr: () => stderr, done };
}

/** Polls until pred() is true (or fails after timeoutMs). */
export async function until(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP port on loopback with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

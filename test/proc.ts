/**
 * Child processes for tests that need a real second process: crash (SIGKILL), LOCK, WAL
 * fixtures written by a store that never got to close. Children are the compiled
 * dist/test/children/*.js, run with this very node binary.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export function childScript(name: string): string {
  return path.join(here, 'children', `${name}.js`);
}

export interface Child {
  proc: ChildProcess;
  /** Complete stdout lines so far (a line cut by SIGKILL is left out). */
  lines(): string[];
  stderr(): string;
  /** Resolves with the first line that satisfies pred; rejects if the child exits first. */
  waitFor(pred: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves once the process has exited and its pipes are drained. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a child. Its stdin is a pipe this process never writes to: children that wait to
 * be killed exit when it closes (exitWithParent), so a dying test run leaves no orphans.
 */
export function startChild(name: string, args: string[]): Child {
  const proc = spawn(process.execPath, [childScript(name), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const done: string[] = [];
  const watchers: Array<() => void> = [];
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    out += chunk;
    const nl = out.lastIndexOf('\n');
    if (nl >= 0) {
      done.push(...out.slice(0, nl).split('\n'));
      out = out.slice(nl + 1);
      for (const w of [...watchers]) w();
    }
  });
  proc.stderr!.on('data', (chunk: string) => void (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('close', (code, signal) => {
      for (const w of [...watchers]) w();
      resolve({ code, signal });
    });
  });
  let finished = false;
  void exited.then(() => void (finished = true));
  const child: Child = {
    proc,
    lines: () => done,
    stderr: () => err,
    exited,
    waitFor(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        const fail = (why: string): void => {
          clearTimeout(timer);
          watchers.splice(watchers.indexOf(check), 1);
          reject(new Error(`child ${name} ${why}; stdout tail: ${done.slice(-5).join(' | ')}; stderr: ${err.slice(-2000)}`));
        };
        const check = (): void => {
          const hit = done.find(pred);
          if (hit !== undefined) {
            clearTimeout(timer);
            watchers.splice(watchers.indexOf(check), 1);
            resolve(hit);
          } else if (finished || proc.exitCode !== null || proc.signalCode !== null) {
            fail(`exited (code ${proc.exitCode}, signal ${proc.signalCode}) before the awaited line`);
          }
        };
        watchers.push(check);
        check();
      });
    },
    kill() {
      proc.kill('SIGKILL');
      return exited;
    },
  };
  return child;
}

/** Runs a child to completion and returns its stdout lines and exit status. */
export async function runChild(name: string, args: string[]): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  const c = startChild(name, args);
  const { code } = await c.exited;
  return { lines: c.lines(), code, stderr: c.stderr() };
}

/** The pid of a process that has certainly exited (for stale-LOCK tests). */
export async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = c.pid!;
  await new Promise((resolve) => c.on('close', resolve));
  return pid;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

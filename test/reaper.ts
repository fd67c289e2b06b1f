/**
 * A last-resort reaper for the child processes and temp directories of the cluster tests.
 *
 * process.on('exit') runs only when node exits by itself; a test process killed with SIGKILL
 * (a runner's timeout, a person's Ctrl-C on the runner) would leave etcd members and
 * kvstored nodes running on loopback ports. So the pids and directories are also told to a
 * small bash process holding a pipe from this one: when the pipe closes (this process is
 * gone, however it died) bash kills every pid still listed and removes every directory
 * still listed. Pids are unlisted once reaped, so a recycled pid is never killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';

const SCRIPT = [
  "trap '' TERM INT HUP", // a signal to the whole process group must not stop the reaper first
  'declare -A P D',
  'while IFS= read -r line; do',
  '  op=${line:0:1}; a=${line:2}',
  '  case $op in p) P[$a]=1;; u) unset "P[$a]";; d) D[$a]=1;; r) unset "D[$a]";; esac',
  'done',
  'for p in "${!P[@]}"; do kill -9 "$p" 2>/dev/null; done',
  'sleep 0.2',
  'for d in "${!D[@]}"; do rm -rf -- "$d"; done',
].join('\n');

let reaper: ChildProcess | undefined;

function send(line: string): void {
  if (!reaper) {
    // Its own process group too: `timeout` and terminals signal the whole group.
    reaper = spawn('bash', ['-c', SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    reaper.unref();
    (reaper.stdin as unknown as net.Socket).unref();
    reaper.on('error', () => undefined); // no bash: process.on('exit') below still runs
    reaper.stdin!.on('error', () => undefined); // a reaper gone early (EPIPE) must not take the test down
  }
  reaper.stdin!.write(line + '\n');
}

const pids = new Set<ChildProcess>();
const dirs = new Set<string>();

/** Kill `child` (SIGKILL) when this process exits, however it exits; unlisted when the child is reaped. */
export function trackProcess(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const pid = child.pid;
  pids.add(child);
  send(`p ${pid}`);
  child.once('exit', () => {
    pids.delete(child);
    send(`u ${pid}`);
  });
}

/** Remove `dir` when this process exits, however it exits (unless untrackDir'ed first). */
export function trackDir(dir: string): void {
  dirs.add(dir);
  send(`d ${dir}`);
}

/** `dir` was removed (or is to be kept): forget it. */
export function untrackDir(dir: string): void {
  dirs.delete(dir);
  send(`r ${dir}`);
}

process.on('exit', (code) => {
  for (const c of pids) c.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  // Exit now, with the code uvu chose. Otherwise Node's teardown (Environment::CleanupHandles)
  // waits for every handle to close, and a connection a test's TCP proxy held in a 'drop' cut
  // could keep it spinning on the CPU for minutes after the tests had passed (perf showed a CI run
  // of cluster-partition doing that). process.exit() here goes straight to the real exit.
  process.exit(code);
});

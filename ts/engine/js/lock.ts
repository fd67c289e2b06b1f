/**
 * The data directory's LOCK for the pure-TS engine. Node has no flock(), so this is
 * PostgreSQL's postmaster.pid scheme made atomic: LOCK exists only while a process holds
 * the directory and holds that process's pid. It is created with O_EXCL, so of processes
 * opening at the same instant exactly one wins. Only a process holding LOCK.break (also
 * O_EXCL) may remove a stale LOCK (a dead pid, garbage, or empty for longer than a
 * creator needs to write its pid), and it checks again that the very same file is still
 * stale before it unlinks it: a fresh LOCK can only appear where none exists, so it is
 * never removed by mistake. A LOCK.break older than BREAK_STALE_MS belonged to a process
 * that died in those few syscalls and is removed.
 * The native engine additionally holds flock() on LOCK and honours a live pid written
 * here, so the two engines exclude each other. A pid reused by an unrelated process after
 * a crash makes the directory look locked: remove LOCK by hand once no kvstore process
 * uses it.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const locked = (dir: string, pid: number): Error =>
  Object.assign(new Error(`${dir} is in use by process ${pid} (LOCK)`), { code: 'LOCKED' });

/** How long an empty LOCK may stay empty before it counts as stale. */
const EMPTY_GRACE_MS = 200;
/** A LOCK.break older than this was left by a process that died while breaking. */
const BREAK_STALE_MS = 5000;

interface Seen {
  ino: number;
  pid: number | null;
  since: number;
}

/** The LOCK file as it is now: inode and pid (null = empty, 0 = garbage), or undefined if absent. */
function look(file: string): { ino: number; pid: number | null } | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const ino = fs.fstatSync(fd).ino;
      const text = fs.readFileSync(fd, 'latin1');
      if (text === '') return { ino, pid: null };
      return { ino, pid: /^\d+\n?$/.test(text) ? Number(text.trim()) : 0 };
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class PidLock {
  private constructor(private readonly file: string) {}

  /** Throws an Error with code LOCKED when a live process (this one included) holds dir. */
  static acquire(dir: string): PidLock {
    const file = path.join(dir, 'LOCK');
    let seen: Seen | null = null;
    for (let attempt = 0; attempt < 2000; attempt++) {
      let fd: number;
      try {
        fd = fs.openSync(file, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const now = look(file);
        if (now === undefined) continue; // released meanwhile: try again
        if (now.pid !== null && now.pid > 0 && alive(now.pid)) throw locked(dir, now.pid);
        if (!seen || seen.ino !== now.ino || seen.pid !== now.pid) seen = { ...now, since: Date.now() };
        if (now.pid === null && Date.now() - seen.since < EMPTY_GRACE_MS) {
          sleepSync(5);
          continue;
        }
        PidLock.breakStale(file, seen);
        continue;
      }
      try {
        fs.writeSync(fd, `${process.pid}\n`);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return new PidLock(file);
    }
    throw locked(dir, 0);
  }

  /** Removes LOCK if, under LOCK.break, it is still the stale file that was seen. */
  private static breakStale(file: string, seen: Seen): void {
    const breaker = `${file}.break`;
    let fd: number;
    try {
      fd = fs.openSync(breaker, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - fs.statSync(breaker).mtimeMs > BREAK_STALE_MS) fs.rmSync(breaker, { force: true });
      } catch {
        // gone meanwhile
      }
      sleepSync(2);
      return;
    }
    fs.closeSync(fd);
    try {
      const now = look(file);
      if (now && now.ino === seen.ino && now.pid === seen.pid) fs.rmSync(file, { force: true });
    } finally {
      fs.rmSync(breaker, { force: true });
    }
  }

  /** Removes LOCK so that this process (or another) may open the directory again. */
  release(): void {
    fs.rmSync(this.file, { force: true });
  }
}

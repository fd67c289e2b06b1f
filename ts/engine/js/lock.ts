/**
 * The data directory's LOCK for the pure-TS engine. Node has no flock(), so this is
 * PostgreSQL's postmaster.pid scheme: the file holds the owner's pid; a live pid means
 * "in use". The native engine additionally holds flock() on the same file and honours a
 * live pid written here, so the two engines exclude each other. A pid reused by an
 * unrelated process after a crash makes the directory look locked: remove LOCK by hand
 * after checking that no kvstore process uses the directory.
 */
import fs from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class PidLock {
  private constructor(private readonly file: string) {}

  /** Throws an Error with code LOCKED when a live process (this one included) holds dir. */
  static acquire(dir: string): PidLock {
    const file = path.join(dir, 'LOCK');
    let text = '';
    try {
      text = fs.readFileSync(file, 'latin1').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const pid = /^\d+$/.test(text) ? Number(text) : 0;
    if (pid > 0 && alive(pid)) {
      throw Object.assign(new Error(`${dir} is in use by process ${pid} (LOCK)`), { code: 'LOCKED' });
    }
    const fd = fs.openSync(file, 'w', 0o600);
    try {
      fs.writeSync(fd, `${process.pid}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return new PidLock(file);
  }

  /** Empties LOCK so that this process (or another) may open the directory again. */
  release(): void {
    fs.writeFileSync(this.file, '');
  }
}

/**
 * One JSON line to stdout, written synchronously: when this returns, the whole line is in
 * the pipe. process.stdout.write is not that for pipes: a write larger than the pipe has
 * room for is queued and finished later by the event loop, so a SIGKILL could drop the
 * line of a write whose record was already in the WAL (the torture run saw exactly this
 * with 64–384 KiB values). stdout is non-blocking, so on EAGAIN this sleeps 1 ms (without
 * spinning a core the reading parent needs) and retries until the parent has read enough.
 */
import fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

export function emit(o: Record<string, unknown>): void {
  const buf = Buffer.from(JSON.stringify(o) + '\n');
  for (let off = 0; off < buf.length;) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime), with µs precision. Unlike
 * performance.now(), whose origin is each process's start, it is one clock for the whole
 * machine, so a child's timestamps compare directly with its parent's.
 */
export function monoMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}

/** Write i was acknowledged: its line, stamped with monoMs() (the crash checker's loss bound reads it). */
export function ack(i: number, fields: Record<string, unknown> = {}): void {
  emit({ t: 'a', i, ...fields, ts: monoMs() });
}

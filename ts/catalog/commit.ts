/**
 * The commit point of catalog changes, shared by every thread of the process (each with its
 * own Store on the one native engine; another process cannot open the directory: LOCK).
 *
 * A change is optimistic, on the engine's versions (compare-and-swap):
 *   1. read `_sys.catalog:lock`; while another thread holds it (state busy, lease not over),
 *      back off and read again;
 *   2. if its version is not the one this copy of the catalog was loaded at, reload;
 *   3. plan the change against that state (synchronously);
 *   4. take the lock: put state busy with ifVersion = the version read in 1. VERSION_MISMATCH
 *      means another thread committed in between: back off and go to 1;
 *   5. write the change as one batch that also puts the lock back to free.
 * So a plan always sees every change committed before its own, and two changes never
 * interleave: no read-modify-write is lost, whichever thread makes it. The engine offers a
 * condition on single keys only (a batch is unconditional), hence the busy state between 4
 * and 5: it tells other threads that a batch is on its way. The lock is held for one event
 * loop turn (no I/O is awaited between 4 and 5), never across a password hash.
 *
 * Lease: a busy lock older than LEASE_MS (wall clock) is taken over; it can only be left
 * behind by a crash between 4 and 5 (the batch never reached the WAL). A holder that finds
 * more than LEASE_MS / 2 gone between 4 and 5 does not write its batch and starts again, so
 * a taken-over holder never writes (short of the wall clock jumping by LEASE_MS / 2).
 */
import { threadId } from 'node:worker_threads';
import { KvError } from '../errors.js';
import type { SystemView } from '../store/store.js';
import { KEYS, type LockRecord, decode, encode } from './schema.js';

export const LEASE_MS = 10_000;
/** Attempts (each a read of the lock, maybe a CAS) before a change fails with CATALOG_BUSY. */
export const MAX_ATTEMPTS = 400;
const MAX_WAIT_MS = 30_000;

export interface LockView {
  /** 0n when absent (a catalog written before the lock existed, or a fresh one). */
  version: bigint;
  record: LockRecord | null;
}

export function readLock(sys: SystemView): LockView {
  const e = sys.getEntry(KEYS.lock);
  return e ? { version: e.version, record: decode('lock', KEYS.lock, e.value) } : { version: 0n, record: null };
}

/** Whether another thread holds the lock now (busy, its lease not over). */
export function held(lock: LockView, wallNow: number): boolean {
  return lock.record?.state === 'busy' && wallNow - lock.record.at < LEASE_MS;
}

export function lockValue(state: LockRecord['state'], at: number): Buffer {
  return encode({ state, at, by: `${process.pid}/${threadId}` } satisfies LockRecord);
}

/**
 * Step 4: takes the lock if its version is still `from`. Resolves true when taken (the put is
 * submitted; its durability is covered by the batch that follows), false when another thread
 * committed first — decided at once by the engine (SystemView.claim), without waiting for the disk.
 */
export async function acquire(sys: SystemView, from: bigint, wallNow: number): Promise<boolean> {
  const put = sys.claim(KEYS.lock, lockValue('busy', wallNow), from);
  if (put === null) return false;
  put.catch(() => undefined); // a failed disk fails the batch that follows, which the caller awaits
  return true;
}

/** Bounded exponential back-off with jitter: ~1, 2, 4 … 32 ms. */
export function backoff(attempt: number, started: number): Promise<void> {
  if (attempt >= MAX_ATTEMPTS || Date.now() - started > MAX_WAIT_MS) {
    throw new KvError('CATALOG_BUSY', `the catalog lock stayed taken by other threads for ${attempt} attempts`);
  }
  const ms = Math.min(32, 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
  return new Promise((r) => setTimeout(r, ms));
}

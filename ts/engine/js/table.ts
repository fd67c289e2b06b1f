/**
 * The pure-TS engine's in-memory table: entries by key (latin1 strings, so string order =
 * byte order) plus an ordered index. `applyRecord` is the one way a WAL record reaches
 * the table: crash recovery calls it for every replayed record, and so does a standby for
 * every record it receives. The write path applies the changes it has already decoded
 * through `applyChanges`, the same mutation. Reads (get, scan, count) and the TTL sweep
 * live here too. Single-threaded; knows nothing of the WAL files.
 */
import type { RawEntry } from '../types.js';
import { type Change, KIND_FIRST_SKIPPABLE, decodeBody } from '../format.js';
import { SortedKeys } from './sorted-keys.js';

export interface Entry {
  value: Buffer;
  version: bigint;
  expiresAt: number;
}

export const live = (e: Entry | null | undefined, now: number): e is Entry =>
  e != null && (e.expiresAt === 0 || e.expiresAt > now);

export class Table {
  readonly entries = new Map<string, Entry>();
  private readonly index = new SortedKeys();
  private sweepIter: Iterator<[string, Entry]> | null = null;

  get size(): number {
    return this.entries.size;
  }

  /**
   * Applies one WAL record at version `lsn`. Optional kinds (>= KIND_FIRST_SKIPPABLE) are
   * skipped. A malformed body or an unknown kind throws FormatError before anything is
   * applied. Values are copied: `body` may be a view of a buffer that is reused.
   */
  applyRecord(lsn: bigint, kind: number, body: Buffer): void {
    if (kind >= KIND_FIRST_SKIPPABLE) return;
    this.applyChanges(decodeBody(kind, body), lsn, true);
  }

  /** Applies decoded changes at version `lsn`; `copy` copies put values (views of a read buffer). */
  applyChanges(changes: readonly Change[], lsn: bigint, copy: boolean): void {
    for (const c of changes) {
      const k = c.key.toString('latin1');
      if (c.type === 'put') {
        if (!this.entries.has(k)) this.index.insert(k);
        const value = copy ? Buffer.from(c.value) : c.value;
        this.entries.set(k, { value, version: lsn, expiresAt: c.expiresAt });
      } else if (this.entries.delete(k)) {
        this.index.delete(k);
      }
    }
  }

  /** Loads one snapshot entry (recovery). */
  load(key: string, entry: Entry): void {
    if (!this.entries.has(key)) this.index.insert(key);
    this.entries.set(key, entry);
  }

  get(key: Buffer, now: number): Buffer | undefined {
    const e = this.entries.get(key.toString('latin1'));
    return live(e, now) ? Buffer.from(e.value) : undefined;
  }

  getInto(key: Buffer, now: number, target: Buffer): number {
    const e = this.entries.get(key.toString('latin1'));
    if (!live(e, now)) return -1;
    if (e.value.length > target.length) return -(e.value.length + 2);
    e.value.copy(target);
    return e.value.length;
  }

  getEntry(key: Buffer, now: number): RawEntry | undefined {
    const e = this.entries.get(key.toString('latin1'));
    return live(e, now) ? [Buffer.from(e.value), e.version, e.expiresAt] : undefined;
  }

  scan(start: Buffer | null, end: Buffer | null, limit: number, reverse: boolean, now: number): Buffer[] {
    const s = start && start.toString('latin1');
    const e = end && end.toString('latin1');
    const out: Buffer[] = [];
    for (const k of reverse ? this.index.rangeReverse(s, e) : this.index.range(s, e)) {
      const entry = this.entries.get(k);
      if (!live(entry, now)) continue;
      out.push(Buffer.from(k, 'latin1'), Buffer.from(entry.value));
      if (limit > 0 && out.length >= limit * 2) break;
    }
    return out;
  }

  count(start: Buffer | null, end: Buffer | null, now: number): number {
    let n = 0;
    for (const k of this.index.range(start && start.toString('latin1'), end && end.toString('latin1'))) {
      if (live(this.entries.get(k), now)) n++;
    }
    return n;
  }

  /** Examines at most `budget` entries from where the last call stopped; removes those expired at `now`. */
  sweep(now: number, budget: number): number {
    let removed = 0;
    this.sweepIter ??= this.entries.entries();
    for (let i = 0; i < budget; i++) {
      const n = this.sweepIter.next();
      if (n.done) {
        this.sweepIter = null;
        break;
      }
      const [k, e] = n.value;
      if (e.expiresAt !== 0 && e.expiresAt <= now && this.entries.get(k) === e) {
        this.entries.delete(k);
        this.index.delete(k);
        removed++;
      }
    }
    return removed;
  }
}

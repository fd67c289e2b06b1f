/**
 * An ordered set of keys (latin1 strings, so string order = unsigned byte order) kept as
 * sorted chunks of at most CHUNK keys: insert and delete cost O(log n + CHUNK), a range
 * walk costs O(log n + k). The pure-TS engine's ordered index for prefix and range scans.
 */
const CHUNK = 512;

export class SortedKeys {
  private chunks: string[][] = [];

  get size(): number {
    let n = 0;
    for (const c of this.chunks) n += c.length;
    return n;
  }

  /** Index of the first chunk whose last key >= key (chunks.length if none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid]!;
      if (c[c.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static lowerBound(c: string[], key: string): number {
    let lo = 0;
    let hi = c.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Inserts key if absent. REQUIRES: the caller knows the key is new (the table said so). */
  insert(key: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      return;
    }
    let ci = this.chunkFor(key);
    if (ci === this.chunks.length) ci--;
    const c = this.chunks[ci]!;
    const i = SortedKeys.lowerBound(c, key);
    if (c[i] === key) return;
    c.splice(i, 0, key);
    if (c.length > CHUNK * 2) this.chunks.splice(ci, 1, c.slice(0, CHUNK), c.slice(CHUNK));
  }

  delete(key: string): void {
    const ci = this.chunkFor(key);
    const c = this.chunks[ci];
    if (!c) return;
    const i = SortedKeys.lowerBound(c, key);
    if (c[i] !== key) return;
    c.splice(i, 1);
    if (c.length === 0) this.chunks.splice(ci, 1);
  }

  /** Keys in [start, end) ascending; null bounds are open. */
  *range(start: string | null, end: string | null): Generator<string> {
    let ci = start === null ? 0 : this.chunkFor(start);
    let i = start === null ? 0 : ci < this.chunks.length ? SortedKeys.lowerBound(this.chunks[ci]!, start) : 0;
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci]!;
      for (; i < c.length; i++) {
        const k = c[i]!;
        if (end !== null && k >= end) return;
        yield k;
      }
    }
  }

  /** Keys in [start, end) descending. */
  *rangeReverse(start: string | null, end: string | null): Generator<string> {
    let ci: number;
    let i: number;
    if (end === null) {
      ci = this.chunks.length - 1;
      i = ci >= 0 ? this.chunks[ci]!.length - 1 : -1;
    } else {
      ci = this.chunkFor(end);
      if (ci === this.chunks.length) {
        ci--;
        i = ci >= 0 ? this.chunks[ci]!.length - 1 : -1;
      } else {
        i = SortedKeys.lowerBound(this.chunks[ci]!, end) - 1;
      }
    }
    for (; ci >= 0; ci--, i = ci >= 0 ? this.chunks[ci]!.length - 1 : -1) {
      const c = this.chunks[ci]!;
      for (; i >= 0; i--) {
        const k = c[i]!;
        if (start !== null && k < start) return;
        yield k;
      }
    }
  }
}

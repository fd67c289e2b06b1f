/** Shared by the backup tests: a full dump of a store (keys, values, versions, expiries) and a writer under load. */
import * as assert from 'uvu/assert';
import type { Store } from '../ts/store/store.js';

export type Dump = Map<string, string>;

/** Every live data key with its value, version and expiry. */
export function dump(store: Store): Dump {
  const out: Dump = new Map();
  for (const [k] of store.scan()) {
    const e = store.getEntry(k);
    if (e) out.set(k.toString('hex'), `${e.value.toString('hex')}|v${e.version}|x${e.expiresAt ?? 0}`);
  }
  return out;
}

export function assertSameDump(got: Dump, want: Dump, what: string): void {
  if (got.size !== want.size) assert.unreachable(`${what}: ${got.size} keys, expected ${want.size}`);
  for (const [k, v] of want) {
    if (got.get(k) !== v) assert.unreachable(`${what}: key ${Buffer.from(k, 'hex').toString()} is ${got.get(k)}, expected ${v}`);
  }
}

/**
 * Writes until stopped: puts (some with a TTL an hour out), deletes, incrs and batches over
 * 200 keys, up to 32 in flight. pause() resolves once every write in flight is acked.
 */
export class Writer {
  #stop = false;
  #paused: Promise<void> | null = null;
  #resume: (() => void) | null = null;
  #inflight = new Set<Promise<unknown>>();
  #loop: Promise<void>;
  acked = 0;
  #n = 0;

  constructor(private readonly store: Store, private readonly tag: string) {
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    for (let round = 0; round < 1_000_000 && !this.#stop; round++) {
      if (this.#paused) await this.#paused;
      if (this.#stop) break;
      while (this.#inflight.size >= 32) await Promise.race(this.#inflight);
      if (this.#paused || this.#stop) continue; // paused while waiting: submit nothing more
      const i = this.#n++;
      const k = `${this.tag}-${i % 200}`;
      let p: Promise<unknown>;
      switch (i % 7) {
        case 0:
          p = this.store.delete(k);
          break;
        case 1:
          p = this.store.incr(`${this.tag}-ctr-${i % 5}`, 3n);
          break;
        case 2:
          p = this.store.batch([{ type: 'put', key: k, value: `b${i}` }, { type: 'del', key: `${this.tag}-${(i + 1) % 200}` }]);
          break;
        case 3:
          p = this.store.put(k, `t${i}`, { ttlMs: 3_600_000 });
          break;
        default:
          p = this.store.put(k, `v${i}-`.padEnd(40 + (i % 60), 'x'));
      }
      const q = p.then(() => void this.acked++).finally(() => this.#inflight.delete(q));
      this.#inflight.add(q);
      if (i % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  }

  async pause(): Promise<void> {
    this.#paused = new Promise((r) => (this.#resume = r));
    await new Promise((r) => setImmediate(r));
    await Promise.all([...this.#inflight]);
  }

  resume(): void {
    const r = this.#resume;
    this.#paused = null;
    this.#resume = null;
    r?.();
  }

  async stop(): Promise<void> {
    this.#stop = true;
    this.resume();
    await this.#loop;
    await Promise.all([...this.#inflight]);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

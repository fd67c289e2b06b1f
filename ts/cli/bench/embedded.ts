/**
 * `kvb embedded`: the native and the pure-TS engines in-process (no HTTP), on the same
 * workloads with the same parameters. Each engine runs in a fresh child process (so one's
 * garbage and caches cannot slow the other), in a fresh temporary directory:
 *
 *   load    put every key once, `concurrency` writes in flight (group commit shares fsyncs)
 *   get     random point reads (synchronous, from memory)
 *   mixed   `concurrency` workers, 80% get / 20% put, on random keys
 *   reopen  close, then open again: recovery (snapshot + WAL replay), checked by a key count;
 *           its ops/s is keys recovered per second
 *
 * Every operation is timed on its own (performance.now() around it), so the rates are below
 * those of bench/run.mjs, which times whole loops.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Durability } from '../../store/options.js';
import { Latency, type LatencySummary } from './histogram.js';

export interface EmbeddedSpec {
  engine: 'native' | 'js';
  keys: number;
  ops: number;
  valueSize: number;
  concurrency: number;
  durability: Durability;
  /** Parent of the scratch directory (default: the OS temp dir). */
  dir?: string;
}

export interface PhaseResult {
  phase: 'load' | 'get' | 'mixed' | 'reopen';
  ops: number;
  seconds: number;
  opsPerSec: number;
  latency: LatencySummary;
  note?: string;
}

export interface EngineResult {
  engine: 'native' | 'js';
  phases: PhaseResult[];
  interrupted: boolean;
  rssMiB: number;
}

const keyOf = (i: number): string => `bench:${String(i).padStart(8, '0')}`;

function phase(name: PhaseResult['phase'], ops: number, ms: number, lat: Latency, note?: string): PhaseResult {
  return { phase: name, ops, seconds: Number((ms / 1000).toFixed(3)), opsPerSec: ms > 0 ? Math.round((ops * 1000) / ms) : 0, latency: lat.summary(), ...(note ? { note } : {}) };
}

export async function runEmbedded(spec: EmbeddedSpec, isStopped: () => boolean, say: (msg: string) => void): Promise<EngineResult> {
  const { open } = await import('../../store/store.js');
  const scratch = fs.mkdtempSync(path.join(spec.dir ?? os.tmpdir(), `kvb-embedded-${spec.engine}-`));
  const phases: PhaseResult[] = [];
  const value = Buffer.alloc(spec.valueSize, 'kvb-value-');
  const rand = (n: number): number => Math.floor(Math.random() * n);
  try {
    let db = await open({ dir: scratch, engine: spec.engine, durability: spec.durability, onLog: () => undefined });

    // load
    say(`${spec.engine}: load ${spec.keys} keys`);
    let lat = new Latency(1);
    let next = 0;
    let t0 = performance.now();
    await Promise.all(Array.from({ length: spec.concurrency }, async () => {
      while (next < spec.keys && !isStopped()) {
        const k = keyOf(next++);
        const s = performance.now();
        await db.put(k, value);
        lat.recordMs(performance.now() - s);
      }
    }));
    phases.push(phase('load', next, performance.now() - t0, lat));
    const loaded = next;

    // get
    if (!isStopped() && loaded > 0) {
      say(`${spec.engine}: ${spec.ops} random gets`);
      lat = new Latency(1);
      let done = 0;
      let hits = 0;
      t0 = performance.now();
      for (; done < spec.ops && (done % 4096 !== 0 || !isStopped()); done++) {
        const s = performance.now();
        if (db.get(keyOf(rand(loaded))) !== undefined) hits++;
        lat.recordMs(performance.now() - s);
      }
      phases.push(phase('get', done, performance.now() - t0, lat, hits === done ? undefined : `${done - hits} misses`));
    }

    // mixed
    if (!isStopped() && loaded > 0) {
      say(`${spec.engine}: ${spec.ops} mixed operations (80% get / 20% put)`);
      lat = new Latency(1);
      let issued = 0;
      t0 = performance.now();
      await Promise.all(Array.from({ length: spec.concurrency }, async () => {
        while (issued < spec.ops && !isStopped()) {
          issued++;
          const k = keyOf(rand(loaded));
          const s = performance.now();
          if (Math.random() < 0.8) db.get(k);
          else await db.put(k, value);
          lat.recordMs(performance.now() - s);
        }
      }));
      phases.push(phase('mixed', issued, performance.now() - t0, lat));
    }

    // reopen (recovery)
    if (!isStopped()) {
      say(`${spec.engine}: close and reopen (recovery)`);
      await db.close();
      lat = new Latency(1);
      t0 = performance.now();
      db = await open({ dir: scratch, engine: spec.engine, durability: spec.durability, onLog: () => undefined });
      const ms = performance.now() - t0;
      lat.recordMs(ms);
      const count = db.count();
      // ops = keys recovered, so ops/s is the recovery rate; the latency is the one open().
      phases.push(phase('reopen', count, ms, lat, count === loaded ? `${count} keys recovered` : `MISMATCH: ${count} keys recovered, ${loaded} written`));
      if (count !== loaded) throw new Error(`recovery check failed: ${count} keys after reopen, ${loaded} written`);
    }
    const rssMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    await db.close();
    return { engine: spec.engine, phases, interrupted: isStopped(), rssMiB };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

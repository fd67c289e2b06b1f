/**
 * Child process for test/teardown.test.ts (issue 13, item 5): starts teardown-worker.js
 * workers and terminates each at a chosen point of its store's life. It runs in its own
 * process because the bug it hunts kills the process (std::terminate in the addon): the
 * test reads its exit status. argv[2] is a JSON RunnerConfig; one JSON line per round:
 *   { round, phase, delayMs, shared, dir, exitCode, seen, errors, acked, hostAcked,
 *     lockedAfterExit, missing }
 * and a last line { done: rounds }.
 * - phase: the worker is terminated delayMs after it reports starting that phase (0: at
 *   once, from the message handler). `seen` lists the phases it reported.
 * - shared (native only): this thread holds the same directory open, so the worker's
 *   engine is shared, and keeps writing while the worker dies and after.
 * - After the worker's exit event, native rounds open the directory with the pure-TS
 *   engine: it gets LOCKED (lockedAfterExit) if the dead worker's native engine is still
 *   referenced (the registry keeps it open and LOCK held); else `missing` counts the
 *   acknowledged writes it cannot read. The test process reopens every directory itself
 *   afterwards (a pure-TS worker's LOCK names this pid, so only another process can).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { open, type Store } from '../../ts/index.js';
import { emit } from './emit.js';
import type { RoundReport, RunnerConfig } from './teardown-protocol.js';

const cfg = JSON.parse(process.argv[2]!) as RunnerConfig;
const workerUrl = new URL('./teardown-worker.js', import.meta.url);
const ROUND_TIMEOUT_MS = 20_000;

/** mulberry32: the run is reproducible from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(cfg.seed);

/** Keeps writing h:* keys through `host` until stop() resolves. */
function hostWriter(host: Store): { acked: Array<[string, string]>; stop: () => Promise<void> } {
  const acked: Array<[string, string]> = [];
  let running = true;
  let i = 0;
  const loop = (async () => {
    while (running && i < 10_000) {
      const key = `h:${String(i).padStart(5, '0')}`;
      const value = `h${i++}`;
      await host.put(key, value);
      acked.push([key, value]);
    }
  })();
  return {
    acked,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

function missingIn(db: Store, pairs: Array<[string, string]>): number {
  return pairs.filter(([k, v]) => db.get(k)?.toString() !== v).length;
}

async function round(n: number): Promise<RoundReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvstore-teardown-'));
  const phase = cfg.phases[Math.floor(random() * cfg.phases.length)]!;
  const delayMs = Math.floor(random() * (cfg.delayMaxMs + 1));
  const shared = cfg.engine === 'native' && cfg.shared && n % 2 === 1;
  const host = shared ? await open({ dir, engine: 'native', durability: 'always', onLog: () => undefined }) : undefined;
  const writer = host ? hostWriter(host) : undefined;

  const acked: Array<[string, string]> = [];
  const seen: string[] = [];
  const errors: string[] = [];
  const w = new Worker(workerUrl, { workerData: { dir, engine: cfg.engine } });
  let terminating = false;
  w.on('message', (m: { ack?: [string, string]; phase?: string }) => {
    if (m.ack) acked.push(m.ack);
    if (m.phase === undefined) return;
    seen.push(m.phase);
    if (m.phase !== phase || terminating) return;
    terminating = true;
    if (delayMs === 0) void w.terminate();
    else setTimeout(() => void w.terminate(), delayMs);
  });
  w.on('error', (err: Error & { code?: string }) => errors.push(err.code ?? err.message));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      errors.push(`no exit after ${ROUND_TIMEOUT_MS} ms`);
      void w.terminate();
    }, ROUND_TIMEOUT_MS);
    w.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });

  let hostAcked: Array<[string, string]> = [];
  if (host && writer) {
    // The engine the dead worker shared must still serve this thread.
    await writer.stop();
    for (let i = 0; i < 16; i++) await host.put(`after:${i}`, `a${i}`);
    hostAcked = [...writer.acked, ...Array.from({ length: 16 }, (_, i): [string, string] => [`after:${i}`, `a${i}`])];
    await host.close();
  }

  let lockedAfterExit = false;
  let missing = 0;
  if (cfg.engine === 'native') {
    try {
      const db = await open({ dir, engine: 'js', onLog: () => undefined });
      missing = missingIn(db, [...acked, ...hostAcked]);
      await db.close();
    } catch (err) {
      if ((err as { code?: string }).code !== 'LOCKED') throw err;
      lockedAfterExit = true;
    }
  }
  return { round: n, phase, delayMs, shared, dir, exitCode, seen, errors, acked, hostAcked, lockedAfterExit, missing };
}

const until = Date.now() + cfg.budgetMs;
let rounds = 0;
while (rounds < cfg.rounds && (rounds === 0 || Date.now() < until)) {
  emit({ ...(await round(rounds)) });
  rounds++;
}
emit({ done: rounds });

/**
 * Shared plumbing for the benchmark scenarios (bench/<scenario>.ts). Each scenario file
 * exports one function per implementation with identical parameters and a `spec` the
 * orchestrator (bench/run.mjs) reads: which implementations, which parameter sets, the
 * baseline for ratios and the targets. A trial is one fresh `node` process:
 *
 *   node dist/bench/<scenario>.js --impl <name> --keys N --<param> <value> ... [--dir D] [--phase P]
 *
 * which prints exactly one JSON line: { impl, params, metrics } or { impl, params, unavailable }.
 * Never part of `npm test`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { loadNative } from '../ts/binding.js';
import { open, type Store } from '../ts/index.js';
import type { Durability } from '../ts/store/options.js';

/** Every key is 16 bytes: 'key:' + 12 decimal digits; misses use 'mis:'. Values are 100 bytes. */
export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;

export type Params = Record<string, string | number>;
export type Metrics = Record<string, number | string>;
/** One implementation: runs one trial in this process and returns its metrics. */
export type ImplFn = (p: Params, ctx: TrialContext) => Promise<Metrics>;

export interface TrialContext {
  /** A fresh, empty directory owned by this trial (the orchestrator removes it). */
  dir: string;
  /** 'measure', or 'prepare' for scenarios whose preparation runs in its own process. */
  phase: string;
}

export interface Column {
  /** Metric key in the child's result. */
  key: string;
  /** Header in the table. */
  label: string;
  /** 'ops' formats as ops/s with thousands separators; 'ms', 'us', 'bytes' and 'num' as plain numbers. */
  unit?: 'ops' | 'ms' | 'us' | 'bytes' | 'num';
}

export interface TargetRow {
  impl: string;
  params: Params;
  metrics?: Record<string, number | string>;
  unavailable?: string;
}

/** A target from the issue: attached to the row(s) of `impl` (and matching params), checked against the table. */
export interface Target {
  impl: string;
  /** Only rows whose params include these values. */
  where?: Params;
  text: string;
  /** true/false, or a string saying why it cannot be judged (e.g. the other side is unavailable). */
  check(row: TargetRow, find: (impl: string, params: Params) => TargetRow | undefined): boolean | string;
}

export interface ScenarioSpec {
  name: string;
  title: string;
  /** Implementations in table order. */
  impls: readonly string[];
  /** Human labels for implementations (defaults to the name). */
  labels?: Record<string, string>;
  /** Default parameter sets; `keys` is the scenario's size knob, overridden by --keys. */
  cases(o: { keys?: number; quick: boolean }): Params[];
  /** false = this impl does not run for these params (row omitted); a string = n/a with that reason. */
  applies?(impl: string, p: Params): true | false | string;
  /** Metric columns; the first one is the one ratios use. */
  columns: Column[];
  /** Ratios of columns[0] are against this implementation with the same params. */
  baseline: string;
  /** Ratios for columns where lower is better (latencies, bytes) are baseline / value. */
  lowerIsBetter?: boolean;
  targets?: Target[];
  /** Extra node flags for the child (e.g. --expose-gc). */
  nodeArgs?: string[];
  /** Runs `--phase prepare` in its own process before each measured trial, same dir. */
  prepare?: boolean;
  /**
   * Run trial 1 of every implementation of a case, then trial 2, ... instead of all trials
   * of one implementation in a row: for scenarios whose rows are compared as ratios on a
   * machine whose load drifts.
   */
  interleave?: boolean;
  /** Per-trial timeout, ms. */
  timeoutMs?: number;
  run: Record<string, ImplFn>;
}

// ------------------------------------------------------------------ keys and values

export function keyString(i: number): string {
  return 'key:' + String(i).padStart(12, '0');
}

export function missString(i: number): string {
  return 'mis:' + String(i).padStart(12, '0');
}

export function keyBuf(i: number): Buffer {
  return Buffer.from(keyString(i), 'latin1');
}

/** A deterministic 100-byte value for key i (distinct per key, so nothing can share them). */
export function valueBuf(i: number): Buffer {
  const v = Buffer.allocUnsafe(VALUE_BYTES);
  v.fill(97 + (i % 26));
  v.writeUInt32LE(i >>> 0, 0);
  return v;
}

/** A bijection of [0, n): the same scrambled order for every implementation. */
export function permutation(n: number, seed = 0x9e3779b9): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let s = seed >>> 0;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    const j = s % (i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

// ------------------------------------------------------------------ implementations

export function nativeUnavailable(): string | undefined {
  try {
    loadNative();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * A target "impl's ops/s ≥ factor × peer's, same params": true/false, or why it cannot be
 * judged (a side unavailable, with the peer's reason when it gave one).
 */
export function ratioTarget(peer: string, factor: number): Target['check'] {
  return (row, find) => {
    const other = find(peer, row.params);
    const ops = (r: TargetRow | undefined): number => (typeof r?.metrics?.opsPerSec === 'number' ? r.metrics.opsPerSec : NaN);
    if (!other?.metrics) return other?.unavailable ? `${peer} unavailable: ${other.unavailable}` : 'unavailable';
    const r = ops(row) / ops(other);
    return Number.isNaN(r) ? 'unavailable' : r >= factor;
  };
}

export class Unavailable extends Error {}

export async function openStore(engine: 'native' | 'js', dir: string, durability: Durability, extra: Record<string, unknown> = {}): Promise<Store> {
  if (engine === 'native') {
    const why = nativeUnavailable();
    if (why) throw new Unavailable(why);
  }
  return open({ dir, engine, durability, onLog: () => {}, ...extra });
}

/** Loads keys [0, n) with batches of 1000 puts and waits until everything is durable. */
export async function loadStore(store: Store, n: number, from = 0): Promise<void> {
  const B = 1000;
  const inflight: Promise<unknown>[] = [];
  for (let i = from; i < from + n; i += B) {
    const ops = [];
    for (let j = i; j < Math.min(i + B, from + n); j++) ops.push({ type: 'put' as const, key: keyBuf(j), value: valueBuf(j) });
    inflight.push(store.batch(ops));
    if (inflight.length >= 16) await inflight.shift();
  }
  await Promise.all(inflight);
}

export async function openLmdb(dir: string, opts: Record<string, unknown> = {}) {
  const lmdb = await import('lmdb');
  return lmdb.open({ path: path.join(dir, 'lmdb'), encoding: 'binary', keyEncoding: 'binary', ...opts });
}

/** lmdb bulk load in synchronous transactions of 10,000 puts (untimed setup). */
export function loadLmdb(db: { transactionSync<T>(f: () => T): T; putSync(k: Buffer, v: Buffer): void }, n: number): void {
  for (let i = 0; i < n; i += 10_000) {
    db.transactionSync(() => {
      for (let j = i; j < Math.min(i + 10_000, n); j++) db.putSync(keyBuf(j), valueBuf(j));
    });
  }
}

// ------------------------------------------------------------------ measurement helpers

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Keeps exactly `inflight` writes outstanding until `seconds` have passed or `maxOps`
 * writes were issued: each of `inflight` lanes awaits its write and issues the next.
 */
export async function inflightLoop(inflight: number, seconds: number, maxOps: number, op: (i: number) => Promise<unknown>): Promise<{ ops: number; seconds: number }> {
  let next = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  async function lane(): Promise<void> {
    while (next < maxOps && performance.now() < deadline) await op(next++);
  }
  const lanes: Promise<void>[] = [];
  for (let l = 0; l < inflight; l++) lanes.push(lane());
  await Promise.all(lanes);
  const secs = (performance.now() - t0) / 1000;
  return { ops: next, seconds: secs };
}

// ------------------------------------------------------------------ child entry point

function argOf(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** True when `importMetaUrl` is the script node was started with (and not a worker). */
export function isEntry(importMetaUrl: string): boolean {
  return isMainThread && process.argv[1] !== undefined && pathToFileURL(path.resolve(process.argv[1])).href === importMetaUrl;
}

const RESERVED = new Set(['impl', 'dir', 'phase']);

/** Every `--name value` pair except --impl/--dir/--phase; numeric strings become numbers. */
function parseParams(argv: string[]): Params {
  const params: Params = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const name = a.slice(2);
    const v = argv[i + 1] ?? '';
    i++;
    if (RESERVED.has(name)) continue;
    params[name] = /^-?\d+(\.\d+)?(e\d+)?$/.test(v) ? Number(v) : v;
  }
  return params;
}

/**
 * Runs one trial as the child process: `--impl X --dir D --phase P` plus the parameters as
 * `--name value` pairs (e.g. `--keys 100000 --durability always`); prints one JSON line.
 */
export async function childMain(spec: ScenarioSpec): Promise<void> {
  const argv = process.argv.slice(2);
  const impl = argOf(argv, 'impl') ?? '';
  const params = parseParams(argv);
  const phase = argOf(argv, 'phase') ?? 'measure';
  let dir = argOf(argv, 'dir');
  const own = dir === undefined;
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), `kvbench-${spec.name}-`));
  const fn = spec.run[impl];
  let line: Record<string, unknown>;
  try {
    if (!fn) throw new Error(`unknown impl "${impl}"; one of ${Object.keys(spec.run).join(', ')}`);
    const metrics = await fn(params, { dir, phase });
    line = { scenario: spec.name, impl, params, phase, metrics };
  } catch (err) {
    if (err instanceof Unavailable) line = { scenario: spec.name, impl, params, phase, unavailable: err.message };
    else line = { scenario: spec.name, impl, params, phase, error: (err as Error).stack ?? String(err) };
  }
  if (own) fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(line) + '\n');
  // Stores are deliberately not closed by every scenario (close() checkpoints): exit now.
  process.exit(line.error ? 1 : 0);
}

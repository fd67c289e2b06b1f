/**
 * open() options: defaults → validation → interpretation, in that order (STYLE.md §4).
 * Misspelled option names are rejected by name (checkOptions, ts/options.ts).
 */
import { KvError } from '../errors.js';
import { checkOptions, optionNames } from '../options.js';
import type { DurabilityCode, EngineConfig } from '../engine/types.js';
import { type EncodingFor, checkEncodingOption } from './encoding.js';

export type Durability = 'always' | 'interval' | 'none';
export type EngineKind = 'native' | 'js' | 'auto';

/** V and K: the types values and keys decode to (Buffer unless an encoding says otherwise). */
export interface OpenOptions<V = Buffer, K = Buffer> {
  /** Data directory; created if missing. */
  dir: string;
  /**
   * 'auto' (default) uses the native engine and falls back to the pure-TS one with a warning;
   * 'native' fails with NATIVE_UNAVAILABLE when the addon does not load; 'js' never loads it.
   */
  engine?: EngineKind;
  /** 'always' (default): a write resolves after the fdatasync that covers it. */
  durability?: Durability;
  /** fdatasync period under 'interval', ms. Default 100. */
  intervalMs?: number;
  /** Number of hash-table shards, a power of two 1..4096. Default 64. */
  shards?: number;
  /** WAL segment size, bytes. Default 64 MiB. */
  walSegmentBytes?: number;
  /** Automatic checkpoint after this much WAL, bytes; 0 = only on demand and at close. Default 64 MiB. */
  checkpointWalBytes?: number;
  /** Open a directory with a corrupt WAL record by cutting the WAL there (data after it is lost). Default false. */
  truncateCorruptTail?: boolean;
  /** Clock for TTL, ms since the epoch. Default Date.now. */
  clock?: () => number;
  /** Receives operator messages (torn tail truncated, corruption repaired). Default: process warnings. */
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /**
   * How values are stored: 'binary' (default: strings in as UTF-8, Buffers out), 'utf8' (strings
   * out), 'json', 'msgpack' (needs the msgpackr package) or a custom { encode, decode }.
   */
  valueEncoding?: EncodingFor<V>;
  /** How keys are stored (same choices as valueEncoding); keys sort by their encoded bytes. */
  keyEncoding?: EncodingFor<K>;
}

export interface ResolvedOptions {
  engine: EngineKind;
  config: EngineConfig;
  durability: Durability;
  clock: () => number;
  onLog: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Checked (checkEncodingOption), not yet loaded: open() resolves them. */
  keyEncoding: unknown;
  valueEncoding: unknown;
}

const OPEN_OPTIONS = optionNames<OpenOptions>({
  dir: true, engine: true, durability: true, intervalMs: true, shards: true, walSegmentBytes: true,
  checkpointWalBytes: true, truncateCorruptTail: true, clock: true, onLog: true, keyEncoding: true, valueEncoding: true,
});
const DURABILITY: Record<Durability, DurabilityCode> = { always: 0, interval: 1, none: 2 };
const MiB = 1024 * 1024;

function bad(message: string): KvError {
  return new KvError('INVALID_ARGUMENT', message);
}

function int(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw bad(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return v;
}

function defaultLog(level: 'info' | 'warn' | 'error', message: string): void {
  if (level !== 'info') process.emitWarning(message, { code: 'KVSTORE_' + level.toUpperCase() });
}

export function resolveOptions(input: OpenOptions<unknown, unknown>): ResolvedOptions {
  if (input === null || typeof input !== 'object') throw bad('open() needs an options object with a dir');
  checkOptions('open', input, OPEN_OPTIONS);
  const o = {
    engine: 'auto' as EngineKind,
    durability: 'always' as Durability,
    intervalMs: 100,
    shards: 64,
    walSegmentBytes: 64 * MiB,
    checkpointWalBytes: 64 * MiB,
    truncateCorruptTail: false,
    clock: Date.now,
    onLog: defaultLog,
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  } as Required<OpenOptions<unknown, unknown>>;

  if (typeof o.dir !== 'string' || o.dir.length === 0) throw bad('dir must be a non-empty string');
  if (!['native', 'js', 'auto'].includes(o.engine)) throw bad(`engine must be 'native', 'js' or 'auto'`);
  if (!(o.durability in DURABILITY)) throw bad(`durability must be 'always', 'interval' or 'none'`);
  int('intervalMs', o.intervalMs, 1, 60_000);
  int('shards', o.shards, 1, 4096);
  if ((o.shards & (o.shards - 1)) !== 0) throw bad(`shards must be a power of two, got ${o.shards}`);
  int('walSegmentBytes', o.walSegmentBytes, 64 * 1024, 1024 * MiB);
  int('checkpointWalBytes', o.checkpointWalBytes, 0, Number.MAX_SAFE_INTEGER);
  if (typeof o.truncateCorruptTail !== 'boolean') throw bad('truncateCorruptTail must be a boolean');
  if (typeof o.clock !== 'function') throw bad('clock must be a function');
  if (typeof o.onLog !== 'function') throw bad('onLog must be a function');
  checkEncodingOption(input.keyEncoding, 'keyEncoding');
  checkEncodingOption(input.valueEncoding, 'valueEncoding');

  return {
    engine: o.engine,
    durability: o.durability,
    clock: o.clock,
    onLog: o.onLog,
    keyEncoding: input.keyEncoding,
    valueEncoding: input.valueEncoding,
    config: {
      dir: o.dir,
      shards: o.shards,
      durability: DURABILITY[o.durability],
      intervalMs: o.intervalMs,
      walSegmentBytes: o.walSegmentBytes,
      checkpointWalBytes: o.checkpointWalBytes,
      truncateCorruptTail: o.truncateCorruptTail,
    },
  };
}

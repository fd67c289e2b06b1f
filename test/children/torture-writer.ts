/**
 * Torture child: argv = dir engine round mode seed [durability intervalMs pace] (the
 * last three as for crash-writer), mode one of
 *   mixed       automatic checkpoints every 256 KiB of WAL
 *   checkpoint  checkpoints back to back, so kills land mid-checkpoint
 *   large       like mixed, with many 64–384 KiB values
 * Like crash-writer (same line protocol, same guarantee that submission order is LSN
 * order), with more kinds of writes: CAS puts and deletes (ifVersion), puts with a long
 * TTL (expiresAt checked exactly after recovery), puts with a 1 ms TTL (gone by any
 * check), large values, batches, and counters. A CAS with a stale version is tried too:
 * it must reject with VERSION_MISMATCH and write nothing, so it is not an op (were it to
 * write a record, every later acked version would be off by one and the checker says so).
 * The store runs on a clock this child sets before each write, so it knows every expiresAt.
 */
import { type Durability, open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { ack, emit } from './emit.js';
import { runLanes } from './lanes.js';

const [dir, engine, roundArg, mode, seedArg, durability = 'always', intervalArg = '100', pace = 'busy'] =
  process.argv.slice(2) as [string, EngineName, string, string, string, Durability?, string?, string?];
const round = Number(roundArg);
const HOUR = 3_600_000;

let seed = Number(seedArg) >>> 0;
function rnd(n: number): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}
const largeShare = mode === 'large' ? 10 : 1; // percent of values that are 64–384 KiB
function value(): string {
  const roll = rnd(100);
  const len = roll < largeShare ? 65536 + rnd(327680) : roll < 20 ? 200 + rnd(3000) : rnd(65);
  let s = '';
  while (s.length < Math.min(len, 4096)) s += rnd(2 ** 30).toString(36);
  s = s.slice(0, Math.min(len, 4096));
  return len > 4096 ? s.repeat(Math.ceil(len / 4096)).slice(0, len) : s;
}

let now = Date.now();
const db = await open({
  dir,
  engine,
  durability,
  intervalMs: Number(intervalArg),
  // Under interval/none, larger segments, as in crash-writer (which says why).
  walSegmentBytes: durability === 'always' ? 64 * 1024 : 1024 * 1024,
  checkpointWalBytes: mode === 'checkpoint' ? 0 : durability === 'always' ? 256 * 1024 : 4 * 1024 * 1024,
  clock: () => now,
  onLog: () => undefined,
});

/** The submitted state: value and version of every key, and the plain keys among them. */
const state = new Map<string, { v: string; ver: bigint }>();
const plain: string[] = [];
const plainAt = new Map<string, number>();
function addPlain(k: string): void {
  if (plainAt.has(k)) return;
  plainAt.set(k, plain.length);
  plain.push(k);
}
function removePlain(k: string): void {
  const i = plainAt.get(k)!;
  const last = plain.pop()!;
  plainAt.delete(k);
  if (last !== k) {
    plain[i] = last;
    plainAt.set(last, i);
  }
}
for (const [k] of db.scan()) {
  const e = db.getEntry(k)!;
  state.set(k.toString(), { v: e.value.toString(), ver: e.version });
  if (k.toString().startsWith('k:')) addPlain(k.toString());
}

const next = db.stats().nextLsn;
let seq = 0;
let fresh = 0;
const pick = (): string => plain[rnd(plain.length)]!;

async function one(): Promise<void> {
  now = Date.now();
  const roll = rnd(100);
  if (roll < 4 && plain.length > 0) {
    // A stale CAS: must be refused before any LSN is taken.
    const k = pick();
    const stale = state.get(k)!.ver - 1n;
    try {
      await db.put(k, 'stale cas', { ifVersion: stale });
      emit({ t: 'e', i: -1, code: `CAS_ACCEPTED ${k}` });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'VERSION_MISMATCH') emit({ t: 'e', i: -1, code: String(code) });
    }
    return;
  }
  const i = seq++;
  const ver = next + BigInt(i);
  try {
    if (roll < 28 || plain.length === 0) {
      const k = `k:${round}:${fresh++}`;
      const v = value();
      emit({ t: 's', i, op: 'put', k, v });
      state.set(k, { v, ver });
      addPlain(k);
      const { version } = await db.put(k, v);
      ack(i, { ver: String(version) });
    } else if (roll < 38) {
      const k = pick();
      const v = value();
      emit({ t: 's', i, op: 'put', k, v });
      state.set(k, { v, ver });
      const { version } = await db.put(k, v);
      ack(i, { ver: String(version) });
    } else if (roll < 46) {
      const k = pick();
      const v = value();
      const ifVersion = state.get(k)!.ver;
      emit({ t: 's', i, op: 'put', k, v, cas: String(ifVersion) });
      state.set(k, { v, ver });
      const { version } = await db.put(k, v, { ifVersion });
      ack(i, { ver: String(version) });
    } else if (roll < 54) {
      const k = pick();
      const cas = rnd(2) === 0;
      const ifVersion = cas ? state.get(k)!.ver : undefined;
      emit({ t: 's', i, op: 'del', k, cas: cas ? String(ifVersion) : undefined });
      state.delete(k);
      removePlain(k);
      const { deleted } = await db.delete(k, cas ? { ifVersion } : {});
      if (!deleted) emit({ t: 'e', i, code: 'NOT_DELETED' });
      ack(i, { d: deleted });
    } else if (roll < 60) {
      // A long TTL on a fresh key: must come back with exactly this expiresAt.
      const k = `l:${round}:${fresh++}`;
      const v = value();
      const exp = now + HOUR;
      emit({ t: 's', i, op: 'put', k, v, exp });
      state.set(k, { v, ver });
      const { version } = await db.put(k, v, { ttlMs: HOUR });
      ack(i, { ver: String(version) });
    } else if (roll < 66) {
      // A 1 ms TTL: expired by the time anything checks.
      const k = `t:${round}:${fresh++}`;
      emit({ t: 's', i, op: 'put', k, v: 'short', short: true });
      const { version } = await db.put(k, 'short', { ttlMs: 1 });
      ack(i, { ver: String(version) });
    } else if (roll < 82) {
      const k = `c:${rnd(4)}`;
      const by = BigInt(rnd(200) - 50);
      const r = BigInt(state.get(k)?.v ?? '0') + by;
      emit({ t: 's', i, op: 'incr', k, v: String(r), by: String(by) });
      state.set(k, { v: String(r), ver });
      const got = await db.incr(k, by);
      ack(i, { r: String(got) });
    } else {
      const tag = `r${round}b${fresh++}`;
      const kv = Array.from({ length: 2 + rnd(6) }, (_, j) => [`b:${tag}:${j}`, `${tag}|${value()}`] as [string, string]);
      emit({ t: 's', i, op: 'batch', tag, kv });
      for (const [k, v] of kv) state.set(k, { v, ver });
      const { version } = await db.batch(kv.map(([key, v]) => ({ type: 'put' as const, key, value: v })));
      ack(i, { ver: String(version) });
    }
  } catch (err) {
    emit({ t: 'e', i, code: String((err as { code?: unknown }).code) });
  }
}

runLanes(db, one, {
  lanes: 1 + rnd(16),
  checkpointLoop: mode === 'checkpoint',
  next,
  paced: pace === 'paced',
  reportSyncs: durability !== 'always',
});

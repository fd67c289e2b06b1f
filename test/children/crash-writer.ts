/**
 * Crash-test child: argv = dir engine round mode(mixed|checkpoint) seed
 * [durability(always) intervalMs(100) pace(busy|paced)].
 * Opens the store and writes a random mix until SIGKILLed, with up to 16 writes in flight
 * (pace: test/children/lanes.ts). One JSON line per event on stdout, written synchronously:
 *   {t:'ready', next}                         open, next LSN
 *   {t:'s', i, op, k?, v?, kv?, tag?}          about to submit write i (printed BEFORE the call,
 *                                             so every write that can reach the disk is listed)
 *   {t:'a', i, ver?, r?, d?, ts}              write i acknowledged (its promise resolved) at
 *                                             monotonic time ts, ms (emit.ts, monoMs)
 *   {t:'e', i, code}                          write i failed (never expected)
 *   {t:'cs'} / {t:'cd', redo}                 checkpoint started / finished
 *   {t:'f', ms}                               longest fdatasync so far, at most (not under always)
 * Submission order is LSN order: this process is single-threaded and every submitted
 * write produces exactly one record (deletes only target keys present in the submitted state).
 */
import { type Durability, open } from '../../ts/index.js';
import type { EngineName } from '../helpers.js';
import { ack, emit } from './emit.js';
import { runLanes } from './lanes.js';

const [dir, engine, roundArg, mode, seedArg, durability = 'always', intervalArg = '100', pace = 'busy'] =
  process.argv.slice(2) as [string, EngineName, string, string, string, Durability?, string?, string?];
const round = Number(roundArg);

let seed = Number(seedArg) >>> 0;
function rnd(n: number): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
}
function value(): string {
  const len = rnd(5) === 0 ? 200 + rnd(3000) : rnd(65);
  let s = '';
  while (s.length < len) s += rnd(2 ** 30).toString(36);
  return s.slice(0, len);
}

/**
 * Under `always`, small segments and frequent checkpoints, so kills land in segment
 * switches and checkpoints often. Under interval/none a segment switch costs the writer
 * two syncs (segment, directory) that writes must queue behind; at 64 KiB the writer spends
 * its time switching and falls behind, which no production size (64 MiB) does, so 1 MiB.
 */
const segmentBytes = durability === 'always' ? 64 * 1024 : 1024 * 1024;
const db = await open({
  dir,
  engine,
  durability,
  intervalMs: Number(intervalArg),
  walSegmentBytes: segmentBytes,
  checkpointWalBytes: mode === 'checkpoint' ? 0 : 4 * segmentBytes,
  onLog: () => undefined,
});

/** The submitted state (what the engine's conditions see), and the plain keys in it. */
const state = new Map<string, string>();
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
for (const [k, v] of db.scan()) {
  state.set(k.toString(), v.toString());
  if (k.toString().startsWith('k:')) addPlain(k.toString());
}

let seq = 0;
let fresh = 0;

async function one(): Promise<void> {
  const i = seq++;
  const roll = rnd(100);
  try {
    if (roll < 30 || plain.length === 0) {
      const k = `k:${round}:${fresh++}`;
      const v = value();
      emit({ t: 's', i, op: 'put', k, v });
      state.set(k, v);
      addPlain(k);
      const { version } = await db.put(k, v);
      ack(i, { ver: String(version) });
    } else if (roll < 50) {
      const k = plain[rnd(plain.length)]!;
      const v = value();
      emit({ t: 's', i, op: 'put', k, v });
      state.set(k, v);
      const { version } = await db.put(k, v);
      ack(i, { ver: String(version) });
    } else if (roll < 60) {
      const k = plain[rnd(plain.length)]!;
      emit({ t: 's', i, op: 'del', k });
      state.delete(k);
      removePlain(k);
      const { deleted } = await db.delete(k);
      ack(i, { d: deleted });
    } else if (roll < 80) {
      const k = `c:${rnd(4)}`;
      const by = BigInt(rnd(200) - 50);
      const r = BigInt(state.get(k) ?? '0') + by;
      emit({ t: 's', i, op: 'incr', k, v: String(r), by: String(by) });
      state.set(k, String(r));
      const got = await db.incr(k, by);
      ack(i, { r: String(got) });
    } else {
      const tag = `r${round}b${fresh++}`;
      const kv = Array.from({ length: 2 + rnd(4) }, (_, j) => [`b:${tag}:${j}`, `${tag}|${value()}`] as [string, string]);
      emit({ t: 's', i, op: 'batch', tag, kv });
      for (const [k, v] of kv) state.set(k, v);
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
  next: db.stats().nextLsn,
  paced: pace === 'paced',
  reportSyncs: durability !== 'always',
});

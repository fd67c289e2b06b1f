/**
 * The engine primitives replication builds on (issue 14, docs/replication.md), through the
 * Engine interface of ts/engine/types.ts, under each engine: readWal from any LSN (the
 * on-disk bytes, never past the flushed LSN, WAL_COMPACTED / WAL_LSN_MISMATCH), a standby
 * (READ_ONLY to clients, appendReplicated with refusals that change nothing, promotion),
 * optional record kinds, flushed/applied LSNs and onFlushed, and the cross-engine check:
 * records read from one engine's WAL appended into the other end with identical scans.
 */
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadNative } from '../ts/binding.js';
import { JsEngine } from '../ts/engine/js/js-engine.js';
import { NativeEngine } from '../ts/engine/native.js';
import type { DurabilityCode, Engine, EngineConfig, EngineRole } from '../ts/engine/types.js';
import {
  KIND_PUT, RECORD_HEADER, SEGMENT_RE, encodeBatchBody, encodePutBody, readRecord, writeRecord,
} from '../ts/engine/format.js';
import { ENGINES, type EngineName, rejectsWith, tempDir } from './helpers.js';

const NOW = 1_000_000;

interface Opts {
  role?: EngineRole;
  durability?: DurabilityCode;
  walSegmentBytes?: number;
}

function openEngine(name: EngineName, dir: string, o: Opts = {}): Engine {
  const cfg: EngineConfig = {
    dir, shards: 8, durability: o.durability ?? 0, intervalMs: 5, walSegmentBytes: o.walSegmentBytes ?? 64 * 1024,
    checkpointWalBytes: 0, truncateCorruptTail: false, role: o.role ?? 'primary',
  };
  const noop = (): void => undefined;
  return name === 'native' ? NativeEngine.open(loadNative(), cfg, noop, noop) : JsEngine.open(cfg, noop, noop);
}

/** Waits (bounded) until every submitted record is flushed and applied. */
async function settle(e: Engine): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const p = e.walPositions();
    if (p.flushedLsn === p.nextLsn - 1n && p.appliedLsn === p.nextLsn - 1n) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not settled: ${JSON.stringify(e.walPositions(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
}

/** Every record from `from` to the flushed LSN, in chunks of at most maxBytes. */
async function readAll(e: Engine, from: bigint, maxBytes = 1 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < 100_000; i++) {
    const c = await e.readWal(from, maxBytes);
    assert.is(c.firstLsn, from);
    if (c.records.length === 0) break;
    parts.push(c.records);
    from = c.lastLsn + 1n;
  }
  return Buffer.concat(parts);
}

/** LSNs of the records in buf, checking each CRC. */
function lsns(buf: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let at = 0; at < buf.length; ) {
    const r = readRecord(buf, at);
    if (!r.ok) throw new Error(`bad record at ${at}: ${r.reason}`);
    out.push(r.lsn);
    at = r.next;
  }
  return out;
}

function record(lsn: bigint, kind: number, body: Buffer): Buffer {
  const out = Buffer.alloc(RECORD_HEADER + body.length);
  writeRecord(out, 0, lsn, kind, body);
  return out;
}
const putRecord = (lsn: bigint, k: string, v: string): Buffer => record(lsn, KIND_PUT, encodePutBody(Buffer.from(k), Buffer.from(v), 0));

/** The WAL as on disk: every segment's bytes in name order. */
function segmentBytes(dir: string): Buffer {
  const wal = path.join(dir, 'wal');
  return Buffer.concat(fs.readdirSync(wal).filter((n) => SEGMENT_RE.test(n)).sort().map((n) => fs.readFileSync(path.join(wal, n))));
}

/** Keys, values, versions and expiries: the whole visible state. */
function dump(e: Engine, now = NOW): Array<[string, string, bigint, number]> {
  const kv = e.scan(null, null, 0, false, now);
  const out: Array<[string, string, bigint, number]> = [];
  for (let i = 0; i < kv.length; i += 2) {
    const entry = e.getEntry(kv[i]!, now)!;
    out.push([kv[i]!.toString('latin1'), entry[0].toString('latin1'), entry[1], entry[2]]);
  }
  return out;
}

const b = (s: string): Buffer => Buffer.from(s);

/** Puts, overwrites, TTLs (live and expired), a delete, incr, CAS and a batch. */
async function writeMix(e: Engine, n: number): Promise<void> {
  for (let i = 0; i < n; i++) e.put(b(`k${i}`), Buffer.alloc(10 + (i % 40), 97 + (i % 26)), 0, -1n, NOW);
  e.put(b('k1'), b('again'), 0, -1n, NOW);
  e.put(b('ttl-live'), b('x'), NOW + 3_600_000, -1n, NOW);
  e.put(b('ttl-gone'), b('x'), NOW + 1, -1n, NOW);
  e.del(b('k2'), -1n, NOW);
  e.incr(b('counter'), 41n, NOW);
  e.incr(b('counter'), 1n, NOW);
  await settle(e);
  const v = e.getEntry(b('k3'), NOW)![1];
  e.put(b('k3'), b('cas'), 0, v, NOW);
  e.batch(encodeBatchBody([{ type: 'put', key: b('b1'), value: b('one'), expiresAt: 0 }, { type: 'del', key: b('k4') }]), NOW);
  await settle(e);
}

for (const engine of ENGINES) {
  const read = suite(`readWal [${engine}]`);

  read('returns the on-disk record bytes from any LSN, across segments, in bounded chunks', async () => {
    const dir = tempDir('repl');
    const e = openEngine(engine, dir, { walSegmentBytes: 2048 });
    try {
      await writeMix(e, 300);
      const all = await readAll(e, 1n, 700);
      assert.ok(fs.readdirSync(path.join(dir, 'wal')).length > 3, 'several segments');
      assert.ok(all.equals(segmentBytes(dir)), 'the stream is the WAL, byte for byte');
      const got = lsns(all);
      assert.is(got.length, Number(e.walPositions().nextLsn - 1n));
      got.forEach((l, i) => assert.is(l, BigInt(i + 1)));
      assert.equal(lsns(await readAll(e, 100n, 100)), got.slice(99));
    } finally {
      await e.close();
    }
  });

  read('a first record larger than maxBytes comes alone; maxBytes bounds the rest', async () => {
    const e = openEngine(engine, tempDir('repl'));
    try {
      e.put(b('big'), Buffer.alloc(5000, 1), 0, -1n, NOW);
      e.put(b('s1'), b('1'), 0, -1n, NOW);
      e.put(b('s2'), b('2'), 0, -1n, NOW);
      await settle(e);
      assert.equal(lsns((await e.readWal(1n, 100)).records), [1n]);
      const c = await e.readWal(2n, 2 * (RECORD_HEADER + 16 + 3));
      assert.equal(lsns(c.records), [2n, 3n]);
      assert.is(c.lastLsn, 3n);
    } finally {
      await e.close();
    }
  });

  read('never returns a record before it is fdatasynced (durability none)', async () => {
    const e = openEngine(engine, tempDir('repl'), { durability: 2 });
    try {
      e.put(b('a'), b('1'), 0, -1n, NOW);
      e.put(b('b'), b('2'), 0, -1n, NOW);
      for (let i = 0; i < 400 && e.walPositions().durableLsn < 2n; i++) await new Promise((r) => setTimeout(r, 5));
      assert.is(e.walPositions().durableLsn, 2n, 'written (durable for `none`)');
      assert.is(e.walPositions().flushedLsn, 0n);
      const c = await e.readWal(1n, 1 << 20);
      assert.is(c.records.length, 0);
      assert.is(c.lastLsn, 0n);
    } finally {
      await e.close();
    }
  });

  read('an LSN dropped by a checkpoint is WAL_COMPACTED; past the end is WAL_LSN_MISMATCH', async () => {
    const e = openEngine(engine, tempDir('repl'), { walSegmentBytes: 1024 });
    try {
      await writeMix(e, 60);
      const redo = await e.checkpoint(NOW);
      await rejectsWith('WAL_COMPACTED', () => e.readWal(1n, 1 << 20));
      const next = e.walPositions().nextLsn;
      assert.is((await e.readWal(next, 1 << 20)).records.length, 0);
      await rejectsWith('WAL_LSN_MISMATCH', () => e.readWal(next + 1n, 1 << 20));
      e.put(b('after'), b('1'), 0, -1n, NOW);
      await settle(e);
      assert.equal(lsns(await readAll(e, redo)), [redo], 'from the redo LSN on the WAL is kept');
    } finally {
      await e.close();
    }
  });

  read.run();

  const standby = suite(`standby [${engine}]`);

  standby('refuses client writes with READ_ONLY until promoted; then continues the log', async () => {
    const e = openEngine(engine, tempDir('repl'), { role: 'standby' });
    try {
      assert.is(e.role(), 'standby');
      assert.throws(() => e.put(b('a'), b('1'), 0, -1n, NOW), (err: { code?: string }) => err.code === 'READ_ONLY');
      assert.throws(() => e.del(b('a'), -1n, NOW), (err: { code?: string }) => err.code === 'READ_ONLY');
      assert.throws(() => e.incr(b('a'), 1n, NOW), (err: { code?: string }) => err.code === 'READ_ONLY');
      const body = encodeBatchBody([{ type: 'put', key: b('a'), value: b('1'), expiresAt: 0 }]);
      assert.throws(() => e.batch(body, NOW), (err: { code?: string }) => err.code === 'READ_ONLY');
      assert.is(await e.appendReplicated(putRecord(1n, 'a', 'from primary'), 1n), 1n);
      await e.promote();
      assert.is(e.role(), 'primary');
      assert.is(e.stats().role, 'primary');
      assert.is(e.put(b('a'), b('cas'), 0, 1n, NOW), 2n, 'conditions see the replicated version');
      await rejectsWith('NOT_STANDBY', () => e.appendReplicated(putRecord(3n, 'c', 'x'), 3n));
      await rejectsWith('NOT_STANDBY', () => e.promote());
    } finally {
      await e.close();
    }
  });

  standby('a primary refuses replicated records with NOT_STANDBY', async () => {
    const e = openEngine(engine, tempDir('repl'));
    try {
      await rejectsWith('NOT_STANDBY', () => e.appendReplicated(putRecord(1n, 'a', '1'), 1n));
      assert.is(e.walPositions().nextLsn, 1n);
    } finally {
      await e.close();
    }
  });

  standby('refusals change nothing: gap, duplicate, out of order, bad CRC, torn, unknown kind', async () => {
    const dir = tempDir('repl');
    const e = openEngine(engine, dir, { role: 'standby' });
    try {
      await e.appendReplicated(Buffer.concat([putRecord(1n, 'a', '1'), putRecord(2n, 'b', '2')]), 1n);
      const wal = segmentBytes(dir);
      const state = dump(e);
      const badCrc = putRecord(4n, 'd', '4');
      badCrc[badCrc.length - 1]! ^= 1;
      const cases: Array<[string, Buffer, bigint]> = [
        ['WAL_LSN_MISMATCH', putRecord(4n, 'c', '3'), 4n],
        ['WAL_LSN_MISMATCH', putRecord(2n, 'b', 'again'), 2n],
        ['WAL_LSN_MISMATCH', putRecord(4n, 'c', '3'), 3n],
        ['WAL_LSN_MISMATCH', Buffer.concat([putRecord(3n, 'c', '3'), putRecord(5n, 'e', '5'), putRecord(4n, 'd', '4')]), 3n],
        ['WAL_BAD_RECORD', Buffer.concat([putRecord(3n, 'c', '3'), badCrc]), 3n],
        ['WAL_BAD_RECORD', putRecord(3n, 'c', '3').subarray(0, 20), 3n],
        ['WAL_BAD_RECORD', record(3n, 5, b('whatever')), 3n],
        ['WAL_BAD_RECORD', record(3n, KIND_PUT, b('short')), 3n],
        ['INVALID_ARGUMENT', Buffer.alloc(0), 3n],
      ];
      for (const [code, recs, first] of cases) {
        await rejectsWith(code, () => e.appendReplicated(recs, first));
        await settle(e);
        assert.is(e.walPositions().nextLsn, 3n, code);
        assert.is(e.walPositions().appliedLsn, 2n, code);
        assert.equal(dump(e), state, code);
        assert.ok(segmentBytes(dir).equals(wal), `${code}: the WAL is untouched`);
      }
    } finally {
      await e.close();
    }
  });

  standby('optional kinds (>= 128) are kept, streamed on, and skipped by apply and recovery', async () => {
    const dir = tempDir('repl');
    let e = openEngine(engine, dir, { role: 'standby' });
    const chunk = Buffer.concat([putRecord(1n, 'a', '1'), record(2n, 200, b('timeline switch, say')), putRecord(3n, 'b', '2')]);
    try {
      assert.is(await e.appendReplicated(chunk, 1n), 3n);
      assert.is(e.walPositions().appliedLsn, 3n);
      assert.ok((await readAll(e, 1n)).equals(chunk), 'an optional record is streamed as it is');
      assert.equal(dump(e), [['a', '1', 1n, 0], ['b', '2', 3n, 0]]);
    } finally {
      await e.close();
    }
    e = openEngine(engine, dir, { role: 'standby' });
    try {
      assert.equal(dump(e), [['a', '1', 1n, 0], ['b', '2', 3n, 0]]);
      assert.is(e.walPositions().nextLsn, 4n);
    } finally {
      await e.close();
    }
  });

  standby('appended records are flushed whatever the policy; onFlushed and the positions say so', async () => {
    const e = openEngine(engine, tempDir('repl'), { role: 'standby', durability: 2 });
    const heard: bigint[] = [];
    const off = e.onFlushed((lsn) => heard.push(lsn));
    try {
      await e.appendReplicated(Buffer.concat([putRecord(1n, 'a', '1'), putRecord(2n, 'b', '2')]), 1n);
      const p = e.walPositions();
      assert.equal([p.nextLsn, p.flushedLsn, p.appliedLsn], [3n, 2n, 2n]);
      const st = e.stats();
      assert.equal([st.flushedLsn, st.appliedLsn, st.role], [2n, 2n, 'standby']);
      for (let i = 0; i < 200 && !heard.includes(2n); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(heard.includes(2n), `heard ${heard.join(',')}`);
      off();
      await e.appendReplicated(putRecord(3n, 'c', '3'), 3n);
      await new Promise((r) => setTimeout(r, 20));
      assert.not.ok(heard.includes(3n), 'a removed listener hears nothing');
    } finally {
      await e.close();
    }
  });

  standby('several appends in flight are taken in call order and share the flusher', async () => {
    const e = openEngine(engine, tempDir('repl'), { role: 'standby' });
    try {
      const done = await Promise.all(Array.from({ length: 20 }, (_, i) => e.appendReplicated(putRecord(BigInt(i + 1), `k${i % 3}`, `${i}`), BigInt(i + 1))));
      assert.equal(done, Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
      assert.equal(dump(e), [['k0', '18', 19n, 0], ['k1', '19', 20n, 0], ['k2', '17', 18n, 0]]);
    } finally {
      await e.close();
    }
  });

  standby.run();
}

// ---------------------------------------------------------------- across engines

const cross = suite('replication across engines');

for (const from of ENGINES) {
  for (const to of ENGINES) {
    cross(`a ${to} standby fed from a ${from} primary's WAL ends with the same scan, and after a restart`, async () => {
      const pdir = tempDir('repl-p');
      const sdir = tempDir('repl-s');
      const p = openEngine(from, pdir, { walSegmentBytes: 4096 });
      let s = openEngine(to, sdir, { role: 'standby', walSegmentBytes: 4096 });
      try {
        await writeMix(p, 300);
        // Streamed while the primary keeps writing, several appends in flight.
        let next = 1n;
        const inflight: Array<Promise<bigint>> = [];
        for (let round = 0; round < 40 && next < p.walPositions().nextLsn; round++) {
          if (round === 5) await writeMix(p, 50);
          const c = await p.readWal(next, 1500);
          if (c.records.length === 0) {
            await Promise.all(inflight.splice(0));
            continue;
          }
          inflight.push(s.appendReplicated(c.records, next));
          next = c.lastLsn + 1n;
          if (inflight.length >= 3) await inflight.shift();
        }
        await Promise.all(inflight);
        await settle(p);
        for (let c = await p.readWal(next, 1 << 20); c.records.length > 0; c = await p.readWal(next, 1 << 20)) {
          await s.appendReplicated(c.records, next);
          next = c.lastLsn + 1n;
        }
        assert.is(s.walPositions().nextLsn, p.walPositions().nextLsn);
        const want = dump(p);
        assert.ok(want.length > 300);
        assert.ok(want.some(([k]) => k === 'ttl-live') && !dump(p, NOW + 2).some(([k]) => k === 'ttl-gone'));
        assert.equal(dump(s), want);
        assert.equal(dump(s, NOW + 2), dump(p, NOW + 2), 'expiries are the same');
        assert.ok((await readAll(s, 1n)).equals(await readAll(p, 1n)), 'the same records at the same LSNs');
        await s.close();
        s = openEngine(to, sdir, { role: 'standby', walSegmentBytes: 4096 });
        assert.equal(dump(s), want, 'a restarted standby recovers what it received');
      } finally {
        await p.close();
        await s.close();
      }
    });
  }
}

cross.run();

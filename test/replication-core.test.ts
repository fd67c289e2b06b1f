/**
 * The pure parts of replication (no I/O): stream frames, the timeline follow decision and
 * the synchronous-commit quorum, each case with its expected outcome.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KvError } from '../ts/errors.js';
import { FRAME_HEADER, FrameKind, FrameReader, decodeU64Pair, encodeFrame, encodeJsonFrame, encodeU64Pair } from '../ts/replication/frames.js';
import { SyncQuorum, type QuorumClock } from '../ts/replication/sync-quorum.js';
import {
  currentTimeline, generation, historyFromJson, historyToJson, initialHistory, planFollow, promote, type History,
} from '../ts/replication/timeline.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as KvError).code;
  }
  return undefined;
}

// ---- frames ----
const frames = suite('replication frames');

frames('frames survive any chunking, byte by byte included', () => {
  const input = [encodeJsonFrame(FrameKind.HELLO, { a: 1 }), encodeFrame(FrameKind.WAL, Buffer.alloc(1000, 7)), encodeU64Pair(FrameKind.KEEPALIVE, 42n, 7n)];
  const all = Buffer.concat(input);
  for (const step of [1, 3, 12, 13, 500, all.length]) {
    const r = new FrameReader();
    const got = [];
    for (let i = 0; i < all.length; i += step) got.push(...r.push(all.subarray(i, i + step)));
    r.end();
    assert.equal(got.map((f) => f.kind), [1, 2, 3], `step ${step}`);
    assert.is(got[1]!.payload.length, 1000);
    assert.equal(decodeU64Pair(got[2]!), [42n, 7n]);
  }
});

frames('a flipped byte anywhere in a frame is refused with REPLICATION_PROTOCOL', () => {
  const f = encodeFrame(FrameKind.WAL, Buffer.from('payload bytes'));
  for (let i = 0; i < f.length; i++) {
    const bad = Buffer.from(f);
    bad[i] = bad[i]! ^ 0x01;
    const r = new FrameReader();
    const code = codeOf(() => {
      r.push(bad);
      r.end();
    });
    assert.is(code, 'REPLICATION_PROTOCOL', `byte ${i}`);
  }
});

frames('a stream cut inside a frame fails at end(); a reader that failed stays failed', () => {
  const f = encodeFrame(FrameKind.WAL, Buffer.alloc(64));
  const r = new FrameReader();
  assert.equal(r.push(f.subarray(0, 40)), []);
  assert.is(codeOf(() => r.end()), 'REPLICATION_PROTOCOL');
  const r2 = new FrameReader();
  const bad = Buffer.from(f);
  bad[8] = 9; // an unknown required kind
  assert.is(codeOf(() => r2.push(bad)), 'REPLICATION_PROTOCOL');
  assert.is(codeOf(() => r2.push(encodeFrame(FrameKind.WAL))), 'REPLICATION_PROTOCOL');
});

frames('optional kinds (>= 128) are skipped, an oversized length is refused before it is buffered', () => {
  const fixed = encodeFrame(FrameKind.WAL, Buffer.from('x'));
  fixed[8] = 200;
  const r = new FrameReader();
  // A frame whose CRC was computed for kind 2 but carries 200 is refused...
  assert.is(codeOf(() => r.push(fixed)), 'REPLICATION_PROTOCOL');
  // ...and one encoded honestly with kind 200 is skipped.
  const honest = encodeFrame(200 as 2, Buffer.from('x'));
  const r2 = new FrameReader();
  assert.equal(r2.push(Buffer.concat([honest, encodeFrame(FrameKind.KEEPALIVE, Buffer.alloc(16))])).map((f) => f.kind), [3]);
  const huge = Buffer.alloc(FRAME_HEADER);
  huge.writeUInt32LE(0xffffffff, 4);
  huge[8] = FrameKind.WAL;
  assert.is(codeOf(() => new FrameReader().push(huge)), 'REPLICATION_PROTOCOL');
});

frames.run();

// ---- timelines ----
const tl = suite('timelines and the follow decision');

const T0 = 1_700_000_000_000;
function base(): History {
  return initialHistory(T0, '00000000000000aa');
}

tl('a promotion starts a new timeline of the next generation; two promotions never share an id', () => {
  const h = base();
  const a = promote(h, 101n, T0 + 1);
  const b = promote(h, 101n, T0 + 1);
  const ta = a.entries[1]!.id;
  assert.is(generation(ta), 2);
  assert.is.not(ta, b.entries[1]!.id);
  assert.is(a.entries[1]!.parent, h.entries[0]!.id);
  assert.is(currentTimeline(a, 100n), h.entries[0]!.id, 'the TIMELINE record at 101 is not in the WAL yet');
  assert.is(currentTimeline(a, 101n), ta);
});

tl('history JSON round-trips and malformed histories are refused', () => {
  const h = promote(promote(base(), 10n, T0), 20n, T0);
  const back = historyFromJson(JSON.parse(JSON.stringify(historyToJson(h))));
  assert.equal(back, h);
  assert.type(historyFromJson({ systemId: 'zz', entries: [] }), 'string');
  const j = historyToJson(h);
  j.entries[2]!.parent = 'ffffffffffffffff';
  assert.type(historyFromJson(j), 'string');
  const k = historyToJson(h);
  k.entries[2]!.switchLsn = '5';
  assert.type(historyFromJson(k), 'string', 'switch LSNs must not go backwards');
});

tl('empty standby streams from 1; same timeline streams on from the next LSN', () => {
  const h = base();
  assert.equal(planFollow({ history: null, lastLsn: 0n, redoLsn: 1n }, { history: h, lastLsn: 50n }), { action: 'stream', fromLsn: 1n });
  assert.equal(planFollow({ history: h, lastLsn: 30n, redoLsn: 1n }, { history: h, lastLsn: 50n }), { action: 'stream', fromLsn: 31n });
});

tl('another cluster, a directory with data but no history, a stale primary: refused', () => {
  const h = base();
  const other = initialHistory(T0, '00000000000000bb');
  assert.is(planFollow({ history: h, lastLsn: 5n, redoLsn: 1n }, { history: other, lastLsn: 5n }).action, 'refuse');
  assert.is(planFollow({ history: null, lastLsn: 5n, redoLsn: 1n }, { history: h, lastLsn: 5n }).action, 'refuse');
  const promoted = promote(h, 41n, T0);
  // This node was promoted at 41 and wrote on; the old primary (still on the first timeline) is stale.
  assert.is(planFollow({ history: promoted, lastLsn: 60n, redoLsn: 1n }, { history: h, lastLsn: 45n }).action, 'refuse');
  // Same timeline but this node is ahead of the primary: refused (a copied directory?).
  assert.is(planFollow({ history: h, lastLsn: 60n, redoLsn: 1n }, { history: h, lastLsn: 45n }).action, 'refuse');
});

tl('a former primary with records past the switch point rewinds to it', () => {
  const h = base();
  const promoted = promote(h, 41n, T0); // a standby had 1..40 and was promoted at 41
  assert.equal(planFollow({ history: h, lastLsn: 45n, redoLsn: 10n }, { history: promoted, lastLsn: 80n }), {
    action: 'rewind', keepBelow: 41n, fromLsn: 41n, discarded: 5n,
  });
  // Exactly at the switch point minus one: nothing to discard.
  assert.equal(planFollow({ history: h, lastLsn: 40n, redoLsn: 10n }, { history: promoted, lastLsn: 80n }), { action: 'stream', fromLsn: 41n });
  // Its checkpoint already holds records past the switch point: only a base backup helps.
  assert.is(planFollow({ history: h, lastLsn: 45n, redoLsn: 44n }, { history: promoted, lastLsn: 80n }).action, 'rebootstrap');
});

tl('two siblings promoted from one primary: the loser rewinds to the earlier switch point', () => {
  const h = base();
  const a = promote(h, 41n, T0);
  const b = promote(h, 43n, T0);
  // b wrote 43..50 on its own timeline; a won. b keeps 1..40 (a's branch starts at 41).
  assert.equal(planFollow({ history: b, lastLsn: 50n, redoLsn: 1n }, { history: a, lastLsn: 70n }), {
    action: 'rewind', keepBelow: 41n, fromLsn: 41n, discarded: 10n,
  });
  // Histories with nothing in common (a forged system id match): rebootstrap.
  const stranger = initialHistory(T0, '00000000000000aa');
  assert.is(planFollow({ history: stranger, lastLsn: 5n, redoLsn: 1n }, { history: a, lastLsn: 70n }).action, 'rebootstrap');
});

tl.run();

// ---- synchronous commit ----
const q = suite('synchronous commit quorum (ANY N)');

function fakeClock(): QuorumClock & { t: number; tick(ms: number): void } {
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  const c = {
    t: 0,
    now: () => c.t,
    after(ms: number, fn: () => void) {
      const rec = { at: c.t + ms, fn, live: true };
      timers.push(rec);
      return () => {
        rec.live = false;
      };
    },
    tick(ms: number) {
      c.t += ms;
      for (const rec of timers.splice(0)) {
        if (rec.live && rec.at <= c.t) rec.fn();
        else if (rec.live) timers.push(rec);
      }
    },
  };
  return c;
}

const settle = () => new Promise((r) => setImmediate(r));

q('N = 0 resolves at once', async () => {
  const s = new SyncQuorum(0, 1000, fakeClock());
  await s.wait(10n);
});

q('ANY 2 of 3: a write waits for the second-highest flushed LSN', async () => {
  const s = new SyncQuorum(2, 1000, fakeClock());
  const done: bigint[] = [];
  for (const lsn of [5n, 7n, 9n]) void s.wait(lsn).then(() => done.push(lsn));
  s.report('a', 9n);
  await settle();
  assert.equal(done, [], 'one standby is not a quorum of two');
  s.report('b', 6n);
  await settle();
  assert.equal(done, [5n]);
  s.report('c', 8n);
  await settle();
  assert.equal(done, [5n, 7n]);
  assert.equal(s.syncSet(), ['a', 'c']);
  s.report('b', 4n); // an older report never moves back
  s.report('c', 10n);
  await settle();
  assert.equal(done, [5n, 7n, 9n]);
  assert.is(s.confirmedLsn, 9n);
});

q('with too few standbys a write is never silently acknowledged: it fails with SYNC_TIMEOUT', async () => {
  const clock = fakeClock();
  const s = new SyncQuorum(1, 500, clock);
  let err: KvError | undefined;
  let ok = false;
  s.wait(3n).then(() => (ok = true), (e: KvError) => (err = e));
  clock.tick(499);
  await settle();
  assert.is(err, undefined);
  clock.tick(1);
  await settle();
  assert.not.ok(ok);
  assert.is(err?.code, 'SYNC_TIMEOUT');
  assert.is(s.waiting, 0);
});

q('a standby that leaves stops counting; failAll rejects every waiter', async () => {
  const s = new SyncQuorum(1, 1000, fakeClock());
  s.report('a', 5n);
  s.remove('a');
  const p = s.wait(6n);
  s.failAll(new KvError('CLOSED'));
  let code: string | undefined;
  await p.catch((e: KvError) => (code = e.code));
  assert.is(code, 'CLOSED');
});

q.run();

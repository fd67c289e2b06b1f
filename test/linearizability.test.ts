/**
 * The linearizability checker (test/linearizability.ts) against histories whose answer is
 * known: linearizable ones it must accept (concurrent writes read in either order,
 * unknown operations that did or did not take effect) and non-linearizable ones it must
 * catch (stale read, lost write, two readers seeing two writes in opposite orders, an
 * unknown write seen and then gone, double CAS, lost increment, a version going back...).
 * Then random histories from a simulated linearizable register: all accepted; each with one
 * read made to see the future: all caught.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkHistory, type Op, type OpResult, type Outcome } from './linearizability.js';

let t = 0;
/** An op on key "k" by process p over [a, b] ms. */
function op(p: number, a: number, b: number, kind: Op['kind'], extra: Partial<Op> & { r?: OpResult; out?: Outcome } = {}): Op {
  const { r, out, ...rest } = extra;
  return { process: p, key: 'k', kind, invoke: a, complete: b, outcome: out ?? 'ok', result: r, ...rest };
}
const put = (p: number, a: number, b: number, value: string, version?: bigint, out: Outcome = 'ok'): Op => op(p, a, b, 'put', { value, r: { kind: 'put', version }, out });
const get = (p: number, a: number, b: number, value: string | null, version?: bigint): Op =>
  op(p, a, b, 'get', { r: value === null ? { kind: 'get', found: false } : { kind: 'get', found: true, value, version } });
const del = (p: number, a: number, b: number, existed: boolean, out: Outcome = 'ok'): Op => op(p, a, b, 'delete', { r: { kind: 'delete', existed }, out });
const cas = (p: number, a: number, b: number, expect: string | null, value: string, ok: boolean, out: Outcome = 'ok'): Op =>
  op(p, a, b, 'cas', { expect, value, r: ok ? { kind: 'cas', ok: true } : { kind: 'cas', ok: false }, out });
const incr = (p: number, a: number, b: number, value: bigint | 'nan', out: Outcome = 'ok'): Op =>
  op(p, a, b, 'incr', { r: value === 'nan' ? { kind: 'incr', notANumber: true } : { kind: 'incr', value }, out });

function linearizable(h: Op[], what: string): void {
  const r = checkHistory(h);
  assert.ok(r.ok, `${what}: expected linearizable, got ${JSON.stringify(r.violations.map((v) => v.reason))} ${r.inconclusive}`);
}

function violation(h: Op[], what: string, mention?: RegExp): void {
  const r = checkHistory(h);
  assert.not.ok(r.ok, `${what}: expected a violation`);
  assert.is(r.violations.length, 1, what);
  assert.ok(r.violations[0]!.reason.length > 0);
  if (mention) assert.match(r.violations[0]!.reason, mention, what);
}

test('sequential and concurrent histories that are linearizable', () => {
  linearizable([], 'empty');
  linearizable([get(1, 0, 1, null), put(1, 2, 3, 'a', 5n), get(2, 4, 5, 'a', 5n), del(1, 6, 7, true), get(2, 8, 9, null)], 'sequential');
  // Two overlapping writes; readers after both agree on one order (b last).
  linearizable([put(1, 0, 10, 'a'), put(2, 1, 9, 'b'), get(3, 11, 12, 'b'), get(4, 13, 14, 'b')], 'concurrent writes, one winner');
  // A read overlapping a write may see either value; a later one sees the new.
  linearizable([put(1, 0, 1, 'a'), put(2, 2, 10, 'b'), get(3, 3, 4, 'a'), get(4, 5, 6, 'b'), get(3, 11, 12, 'b')], 'reads during a write');
  // Versions: increasing along the order, read at the version written.
  linearizable([put(1, 0, 1, 'a', 3n), put(2, 2, 3, 'b', 7n), get(1, 4, 5, 'b', 7n)], 'versions');
  linearizable([cas(1, 0, 1, null, 'a', true), cas(2, 2, 3, 'a', 'b', true), cas(3, 4, 5, 'a', 'c', false), get(1, 6, 7, 'b')], 'cas chain');
  linearizable([cas(1, 0, 5, 'x', 'a', false), put(2, 1, 2, 'x'), cas(3, 3, 9, 'x', 'b', true), get(1, 10, 11, 'b')], 'cas mismatch before the put');
  linearizable([incr(1, 0, 1, 1n), incr(2, 2, 5, 3n), incr(3, 3, 4, 2n), get(1, 6, 7, '3')], 'concurrent increments');
  linearizable([put(1, 0, 1, 'x'), incr(2, 2, 3, 'nan'), del(1, 4, 5, true), incr(2, 6, 7, 1n)], 'incr on a string, then on absent');
  linearizable([del(1, 0, 1, false), put(1, 2, 3, 'a'), del(2, 4, 5, true), del(3, 6, 7, false)], 'deletes');
});

test('unknown and failed operations', () => {
  // An unknown write that took effect, seen later: fine; one that did not: fine too.
  linearizable([put(1, 0, 1, 'a'), put(2, 2, 3, 'b', undefined, 'unknown'), get(3, 10, 11, 'b'), get(3, 12, 13, 'b')], 'unknown write took effect');
  linearizable([put(1, 0, 1, 'a'), put(2, 2, 3, 'b', undefined, 'unknown'), get(3, 10, 11, 'a'), get(3, 12, 13, 'a')], 'unknown write never took effect');
  // An unknown write can take effect long after its client gave up.
  linearizable([put(1, 0, 1, 'a'), put(2, 2, 3, 'b', undefined, 'unknown'), get(3, 10, 11, 'a'), get(3, 12, 13, 'b')], 'unknown write took effect late');
  // A read of an unknown write binds its version; a later write must be above it.
  linearizable([put(2, 0, 1, 'b', undefined, 'unknown'), get(3, 10, 11, 'b', 9n), put(1, 12, 13, 'c', 10n)], 'unknown version bound by a read');
  // A failed write never happened: nothing may see it.
  violation([put(1, 0, 1, 'a'), put(2, 2, 3, 'b', undefined, 'failed'), get(3, 10, 11, 'b')], 'failed write seen', /no operation wrote/);
  // An unknown write that took effect and then vanished.
  violation([put(1, 0, 1, 'a'), put(2, 2, 3, 'b', undefined, 'unknown'), get(3, 10, 11, 'b'), get(3, 12, 13, 'a')], 'unknown write seen, then gone');
  // An unknown write seen before it was invoked.
  violation([put(1, 0, 1, 'a'), get(3, 2, 3, 'b'), put(2, 5, 6, 'b', undefined, 'unknown')], 'read of a write from the future');
  // An unknown delete that took effect: fine; an unknown CAS whose condition held: fine.
  linearizable([put(1, 0, 1, 'a'), del(2, 2, 3, true, 'unknown'), get(1, 5, 6, null)], 'unknown delete took effect');
  linearizable([put(1, 0, 1, 'a'), cas(2, 2, 3, 'a', 'b', true, 'unknown'), get(1, 5, 6, 'b')], 'unknown cas took effect');
  violation([put(1, 0, 1, 'a'), put(1, 2, 3, 'c'), cas(2, 4, 5, 'a', 'b', true, 'unknown'), get(1, 6, 7, 'b')], 'unknown cas whose condition could not hold took effect');
});

test('non-linearizable histories are caught', () => {
  violation([put(1, 0, 1, 'a'), put(1, 2, 3, 'b'), get(2, 4, 5, 'a')], 'stale read after an acknowledged write', /not linearizable/);
  violation([put(1, 0, 1, 'a'), get(2, 2, 3, null)], 'lost write');
  violation([put(1, 0, 1, 'a'), get(2, 2, 3, 'a'), get(2, 4, 5, null)], 'write seen then lost');
  // Two concurrent writes; two readers, both after both writes, see them in opposite orders.
  violation([
    put(1, 0, 10, 'a'), put(2, 0, 10, 'b'),
    get(3, 11, 12, 'a'), get(3, 13, 14, 'b'),
    get(4, 11, 12, 'b'), get(4, 13, 14, 'a'),
  ], 'writes read back in impossible orders');
  violation([put(1, 0, 1, 'a'), cas(2, 2, 5, 'a', 'b', true), cas(3, 2, 5, 'a', 'c', true)], 'two CAS from the same value both succeed');
  violation([put(1, 0, 1, 'a'), cas(2, 2, 3, 'a', 'b', false)], 'CAS refused although the value matched');
  violation([incr(1, 0, 5, 1n), incr(2, 0, 5, 1n)], 'lost increment (both got 1)');
  violation([incr(1, 0, 1, 1n), incr(1, 2, 3, 1n)], 'increment went back');
  violation([put(1, 0, 1, 'a', 10n), put(1, 2, 3, 'b', 5n)], 'version went back', /not linearizable/);
  violation([put(1, 0, 1, 'a', 10n), get(2, 2, 3, 'a', 11n)], 'read at another version than written');
  violation([get(1, 0, 1, 'zzz')], 'read of a value never written', /no operation wrote/);
  violation([del(1, 0, 1, true)], 'delete of an absent key reported deleted');
  violation([put(1, 0, 1, 'a'), del(1, 2, 3, false)], 'delete of a present key reported absent');
  violation([put(1, 0, 1, 'x'), incr(1, 2, 3, 1n)], 'incr of a string succeeded');
});

test('violations come shrunk to the reads that refute, with the blocking operation named', () => {
  // Noise on the key (many linearizable ops) around one stale read.
  const h: Op[] = [];
  for (let i = 0; i < 20; i++) h.push(put(1, i * 10, i * 10 + 2, `v${i}`), get(2, i * 10 + 3, i * 10 + 4, `v${i}`));
  h.push(get(3, 500, 501, 'v5'));
  const r = checkHistory(h);
  assert.is(r.violations.length, 1);
  const v = r.violations[0]!;
  const reads = v.ops.filter((o) => o.kind === 'get');
  assert.is(reads.length, 1, `shrunk to the one stale read: ${reads.length} reads kept`);
  assert.ok(v.ops.length <= 13, `the report shows the read and the writes before it (at most 12): ${v.ops.length}`);
  assert.ok(v.ops.some((o) => o.result?.kind === 'get' && o.result.found && o.result.value === 'v5' && o.invoke === 500), 'the stale read is in the explanation');
  assert.match(v.reason, /v5/);
});

test('keys are independent: a violation on one key names that key only', () => {
  const h = [put(1, 0, 1, 'a'), { ...put(1, 0, 1, 'a'), key: 'other' }, { ...get(2, 2, 3, null), key: 'other' }, get(2, 2, 3, 'a')];
  const r = checkHistory(h);
  assert.equal(r.violations.map((v) => v.key), ['other']);
  assert.is(r.keys, 2);
});

// ------------------------------------------------------------------ random histories

/** A tiny PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A history of `procs` processes doing `n` ops each on one register, from a real register:
 * each op takes effect at one instant inside its [invoke, complete] interval, so the history
 * is linearizable by construction. Some ops are unknown (the client gave up; the effect
 * happened or not).
 */
function simulate(seed: number, procs: number, n: number): Op[] {
  const rand = rng(seed);
  interface Pending { op: Op; at: number; apply: boolean }
  const pending: Pending[] = [];
  const clock = new Array(procs).fill(0) as number[];
  let written = 0;
  for (let i = 0; i < n * procs; i++) {
    const p = i % procs;
    const a = clock[p]! + rand() * 3;
    const b = a + 0.5 + rand() * 6;
    clock[p] = b;
    const at = a + rand() * (b - a);
    const roll = rand();
    const kind: Op['kind'] = roll < 0.35 ? 'get' : roll < 0.65 ? 'put' : roll < 0.75 ? 'delete' : roll < 0.9 ? 'cas' : 'get';
    const o: Op = { process: p, key: 'k', kind, invoke: a, complete: b, outcome: rand() < 0.08 ? 'unknown' : 'ok' };
    if (kind === 'put' || kind === 'cas') o.value = `w${written++}`;
    pending.push({ op: o, at, apply: o.outcome === 'ok' || rand() < 0.5 });
  }
  // Apply in linearization-point order to a real register; cas expects what it would read.
  pending.sort((x, y) => x.at - y.at);
  let v: string | null = null;
  let version = 0n;
  for (const { op: o, apply } of pending) {
    if (!apply) continue;
    switch (o.kind) {
      case 'get':
        o.result = v === null ? { kind: 'get', found: false } : { kind: 'get', found: true, value: v };
        break;
      case 'put':
        v = o.value!;
        o.result = { kind: 'put', version: ++version };
        break;
      case 'delete':
        o.result = { kind: 'delete', existed: v !== null };
        v = null;
        break;
      case 'cas':
        o.expect = rand() < 0.6 ? v : `w${Math.floor(rand() * written)}`;
        if (o.expect === v) {
          v = o.value!;
          o.result = { kind: 'cas', ok: true, version: ++version };
        } else o.result = { kind: 'cas', ok: false };
        break;
      case 'incr':
        break;
    }
  }
  // Unknown ops that did not apply still need a cas expectation.
  for (const { op: o } of pending) if (o.kind === 'cas' && o.expect === undefined) o.expect = null;
  return pending.map((x) => x.op).sort((x, y) => x.invoke - y.invoke);
}

test('random histories from a linearizable register are accepted; one read from the future is caught', () => {
  const t0 = Date.now();
  let caught = 0;
  let tried = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const h = simulate(seed, 2 + (seed % 5), 25);
    const r = checkHistory(h);
    assert.ok(r.ok, `seed ${seed}: a linearizable-by-construction history was refused: ${JSON.stringify(r.violations[0]?.reason)} ${r.inconclusive}`);
    // Break it: a completed read now returns a value first written strictly after it completed.
    const reads = h.filter((o) => o.kind === 'get' && o.outcome === 'ok');
    for (const rd of reads) {
      const future = h.find((o) => o.kind === 'put' && o.outcome === 'ok' && o.invoke > rd.complete);
      if (!future) continue;
      tried++;
      const broken = h.map((o) => (o === rd ? { ...o, result: { kind: 'get' as const, found: true as const, value: future.value! } } : o));
      const rb = checkHistory(broken, { shrink: false });
      assert.not.ok(rb.ok, `seed ${seed}: a read of a future write was accepted`);
      caught++;
      break;
    }
  }
  assert.ok(tried >= 50, `mutations tried: ${tried}`);
  assert.is(caught, tried);
  assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
});

test('a long history (8 processes × 300 ops on one key) checks in bounded time', () => {
  const h = simulate(4242, 8, 300);
  const t0 = Date.now();
  const r = checkHistory(h);
  assert.ok(r.ok, JSON.stringify(r.violations[0]?.reason));
  assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  void t;
});

test('a counter with many unknown increments: which of them took effect is found without trying every subset', () => {
  // 40 increments time out (unknown) early on; later, acknowledged increments show that
  // exactly 20 of them took effect, then 5 more. Trying subsets of the 40 runs past any budget;
  // taking equal unknown operations in invocation order needs a few thousand steps.
  const h: Op[] = [];
  for (let i = 0; i < 40; i++) h.push(incr(i % 4, i, i + 1, 0n, 'unknown'));
  h.push(incr(9, 100, 101, 21n));
  h.push(get(9, 110, 111, '21'));
  h.push(incr(9, 120, 121, 27n));
  h.push(incr(8, 130, 131, 28n));
  const r = checkHistory(h, { maxSteps: 50_000 });
  assert.equal([r.ok, r.inconclusive, r.violations.length], [true, [], 0], JSON.stringify(r.violations.map((v) => v.reason)));
  // And still a violation when no subset fits: 41 is more than all 40 plus the one.
  const bad = [...h.slice(0, 40), incr(9, 100, 101, 42n)];
  const r2 = checkHistory(bad, { maxSteps: 50_000 });
  assert.equal([r2.ok, r2.inconclusive, r2.violations.length], [false, [], 1]);
});

test.run();

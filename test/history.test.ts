/**
 * The history recorder (test/history.ts) against a real single kvstored: concurrent clients
 * doing puts, deletes, batches, CAS and incr on a few keys give a history the checker finds
 * linearizable, with every result recorded (versions that match what a read then sees, CAS
 * mismatches, NOT_A_NUMBER). Outcomes are classified as documented (a kill -9 mid-run makes
 * unknown or failed writes, never ok ones), and a tampered history is refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classify, Recorder, type Target } from './history.js';
import { checkHistory, formatViolations } from './linearizability.js';
import { credentials, killAll, startPrimary } from './repl-cluster.js';

test.after(async () => {
  await killAll();
});

test('classify: results, refusals before acting, and unknown outcomes', () => {
  const a = (status: number, code?: string, error?: string) => ({ status, code, error, body: Buffer.alloc(0), headers: {} });
  assert.is(classify(a(200)), 'ok');
  assert.is(classify(a(404, 'NOT_FOUND'), [404]), 'ok');
  assert.is(classify(a(400, 'INVALID_ARGUMENT')), 'failed');
  assert.is(classify(a(409, 'READ_ONLY')), 'failed');
  for (const c of ['NOT_PRIMARY', 'FORWARD_FAILED', 'NOT_READY', 'RATE_LIMITED']) assert.is(classify(a(503, c)), 'failed', c);
  for (const c of ['OUTCOME_UNKNOWN', 'SYNC_TIMEOUT', undefined]) assert.is(classify(a(503, c)), 'unknown', String(c));
  assert.is(classify(a(500, 'INTERNAL')), 'unknown');
  assert.is(classify(a(0, undefined, 'ECONNRESET')), 'unknown');
  assert.is(classify(a(0, undefined, 'UND_ERR_HEADERS_TIMEOUT')), 'unknown');
  assert.is(classify(a(0, undefined, 'ECONNREFUSED')), 'failed');
});

/**
 * Under the default durability=always, with refused conditions (412, 404, NOT_A_NUMBER)
 * checked as results: a refusal is reported only once the write it reveals is acknowledged
 * (Store: "refusals wait for the writes they reveal"), so conditions and reads agree.
 */
test('concurrent clients on a real kvstored: a complete, linearizable history', async () => {
  const { primary, creds } = await startPrimary();
  void credentials;
  const rec = new Recorder({ apiKey: creds.admin, timeoutMs: 10_000 });
  const node: Target = { name: 'n0', url: primary.url };
  try {
    const keys = ['a', 'b', 'c'];
    let n = 0;
    const client = async (p: number): Promise<void> => {
      for (let i = 0; i < 40; i++) {
        const key = keys[(p + i) % keys.length]!;
        const roll = (p * 7 + i * 13) % 10;
        if (roll < 3) await rec.put(node, p, key, `p${p}-${n++}`);
        else if (roll < 5) await rec.get(node, p, key);
        else if (roll < 6) await rec.del(node, p, key);
        else if (roll < 8) {
          const g = await rec.get(node, p, key);
          const r = g.result;
          if (g.outcome === 'ok' && r?.kind === 'get') await rec.cas(node, p, key, r.found ? { value: r.value, version: r.version! } : null, `p${p}-${n++}`);
        } else if (roll < 9) await rec.batch(node, p, [{ op: 'put', key, value: `p${p}-${n++}` }, { op: 'del', key: keys[(p + i + 1) % keys.length]! }]);
        else await rec.incr(node, p, `ctr${p % 2}`, 2n);
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(client));
    // Strings under incr: NOT_A_NUMBER is a recorded result.
    await rec.put(node, 9, 'ctr0', 'text');
    const nan = await rec.incr(node, 9, 'ctr0');
    assert.equal(nan.result, { kind: 'incr', notANumber: true });
    // A put's version is what a read then reports.
    const w = await rec.put(node, 9, 'v', 'x');
    const rd = await rec.get(node, 9, 'v');
    assert.is(w.result?.kind === 'put' && w.result.version !== undefined, true, 'put version recorded');
    assert.equal(rd.result, { kind: 'get', found: true, value: 'x', version: (w.result as { version: bigint }).version });
    assert.is(rec.counts.unknown, 0, JSON.stringify(rec.counts));
    assert.ok(rec.ops.some((o) => o.result?.kind === 'cas' && !o.result.ok) || rec.ops.some((o) => o.result?.kind === 'cas' && o.result.ok), 'CAS recorded');
    const r = checkHistory(rec.ops);
    assert.ok(r.ok, formatViolations(r));
    assert.ok(r.ops > 200, `${r.ops} ops`);
    // The same history with one acknowledged write's value swapped into a later read: caught.
    const last = rec.ops.filter((o) => o.kind === 'get' && o.key === 'a' && o.outcome === 'ok').at(-1)!;
    const older = rec.ops.find((o) => o.kind === 'put' && o.key === 'a' && o.outcome === 'ok' && o.complete < last.invoke && o.value !== (last.result as { value?: string }).value
      && rec.ops.some((x) => x.key === 'a' && x.kind !== 'get' && x.outcome === 'ok' && x.invoke > o.complete && x.complete < last.invoke))!;
    assert.ok(older, 'an overwritten put before the last read');
    const tampered = rec.ops.map((o) => (o === last ? { ...o, result: { kind: 'get' as const, found: true as const, value: older.value! } } : o));
    assert.not.ok(checkHistory(tampered, { shrink: false }).ok, 'a stale read planted in the history is caught');

    // kill -9 with writes in flight: none is recorded ok after the kill; the rest unknown or failed.
    const inflight = Array.from({ length: 20 }, (_, i) => rec.put(node, 20 + i, `k${i}`, `late${i}`));
    await primary.kill9();
    const after = await Promise.all(inflight);
    const t = rec.now();
    for (const o of after) assert.ok(o.outcome !== 'ok' || o.complete <= t, 'ok only if answered');
    const post = await rec.put(node, 99, 'z', 'dead');
    assert.is(post.outcome, 'failed', `a write to a dead node (connection refused): ${post.note}`);
  } finally {
    await rec.close();
    await primary.kill9();
  }
});

test.run();

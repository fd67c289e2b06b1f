/**
 * Router's linearizable-read steps in one process (ts/server/routing.ts), against a "primary"
 * that is a plain HTTP server on loopback answering GET /v1/cluster/read-index from a script.
 * The end-to-end runs (test/routing-reads.test.ts, the failover torture) cannot make a
 * standby hold records past its read index, or be on another timeline than its primary, on
 * demand; here each case is exact:
 * - a standby that read no further than the index answers after one read-index call;
 * - one that holds records past it asks again, and answers once that index covers them;
 * - a second index that does not cover them, or a primary on another timeline: READ_INDEX_TIMEOUT;
 * - on the primary, the wait after the read: its own deadline, SYNC_TIMEOUT and FENCED as a
 *   read reports them; readIndex() answers the acknowledged LSN and the timeline.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KvError } from '../ts/errors.js';
import type { ClusterView } from '../ts/server/cluster-view.js';
import { Router, type RoutingOptions } from '../ts/server/routing.js';

const test = suite('routing: the read index, step by step');

interface Primary {
  url: string;
  /** Answers still to give, in order (JSON bodies); the last one repeats. */
  answers: unknown[];
  asked: number;
  close(): Promise<void>;
}

async function scriptedPrimary(answers: unknown[]): Promise<Primary> {
  const p: Primary = { url: '', answers, asked: 0, close: async () => undefined };
  const server = http.createServer((req, res) => {
    p.asked++;
    if (req.url !== '/v1/cluster/read-index') {
      res.writeHead(404).end();
      return;
    }
    const body = p.answers.length > 1 ? p.answers.shift() : p.answers[0];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  p.close = () => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  return p;
}

const view = (primaryUrl: string | null, primary: boolean): ClusterView => ({
  primaryUrl: () => primaryUrl,
  isWritablePrimary: () => primary,
  confirmLeadership: async () => {
    if (!primary) throw new KvError('NOT_PRIMARY', 'not the primary');
  },
});

interface Node {
  applied: bigint;
  last: bigint;
  timeline: string | null;
  acknowledged: () => Promise<bigint>;
}

function router(v: ClusterView, node: Node, timeoutMs = 2000): Router {
  const o: RoutingOptions = {
    view: v, standbyWrites: 'forward', forwardTimeoutMs: 2000, linearizableReadTimeoutMs: timeoutMs,
    appliedLsn: () => node.applied, lastLsn: () => node.last, timeline: () => node.timeline, acknowledged: () => node.acknowledged(),
  };
  return new Router(o);
}

const linearizable = { query: { consistency: 'linearizable' }, headers: {}, id: 'req-1' } as unknown as FastifyRequest;
const stale = { query: {}, headers: {}, id: 'req-2' } as unknown as FastifyRequest;
const never = (): Promise<bigint> => new Promise<bigint>(() => undefined);

async function rejects(p: Promise<unknown>, code: string, detail: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.is((err as KvError).code, code, (err as Error).message);
    assert.match((err as Error).message, detail);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('a standby that read no further than the read index answers after one call', async () => {
  const p = await scriptedPrimary([{ lsn: '10', timeline: 'T1' }]);
  const r = router(view(p.url, false), { applied: 10n, last: 10n, timeline: 'T1', acknowledged: never });
  try {
    const settle = await r.readBarrier(linearizable);
    await settle();
    assert.is(p.asked, 1);
    await (await r.readBarrier(stale))();
    assert.is(p.asked, 1, 'a stale read asks nothing');
  } finally {
    await r.close();
    await p.close();
  }
});

/** A standby's Router over a scripted primary; fn runs the case, both are closed after it. */
async function onStandby(answers: unknown[], node: Node, fn: (r: Router, p: Primary) => Promise<void>): Promise<void> {
  const p = await scriptedPrimary(answers);
  const r = router(view(p.url, false), node);
  try {
    await fn(r, p);
  } finally {
    await r.close();
    await p.close();
  }
}

test('a standby that holds records past the index asks again and answers once an index covers them', async () => {
  const node: Node = { applied: 10n, last: 10n, timeline: 'T1', acknowledged: never };
  await onStandby([{ lsn: '10', timeline: 'T1' }, { lsn: '12', timeline: 'T1' }], node, async (r, p) => {
    const settle = await r.readBarrier(linearizable);
    node.applied = 12n; // records 11 and 12 arrived between the index and the read
    node.last = 12n;
    await settle();
    assert.is(p.asked, 2);
  });
});

test('a second index that does not cover what the standby read: READ_INDEX_TIMEOUT, nothing answered', async () => {
  const node: Node = { applied: 10n, last: 10n, timeline: 'T1', acknowledged: never };
  await onStandby([{ lsn: '10', timeline: 'T1' }, { lsn: '11', timeline: 'T1' }], node, async (r) => {
    const settle = await r.readBarrier(linearizable);
    node.last = 13n;
    await rejects(settle(), 'READ_INDEX_TIMEOUT', 'holds records up to LSN 13 and the primary has acknowledged only up to 11');
  });
});

test('a primary on another timeline than the standby: READ_INDEX_TIMEOUT; a primary that names no timeline is not checked', async () => {
  const p = await scriptedPrimary([{ lsn: '10', timeline: 'T2' }]);
  const r = router(view(p.url, false), { applied: 10n, last: 10n, timeline: 'T1', acknowledged: never });
  const old = await scriptedPrimary([{ lsn: '10' }]);
  const r2 = router(view(old.url, false), { applied: 10n, last: 10n, timeline: 'T1', acknowledged: never });
  try {
    await rejects((await r.readBarrier(linearizable))(), 'READ_INDEX_TIMEOUT', 'on timeline T1 and the primary on T2');
    await (await r2.readBarrier(linearizable))();
  } finally {
    await Promise.all([r.close(), r2.close(), p.close(), old.close()]);
  }
});

test('a read index the standby cannot read: READ_INDEX_TIMEOUT', async () => {
  const p = await scriptedPrimary([{ lsn: 'ten', timeline: 'T1' }]);
  const r = router(view(p.url, false), { applied: 10n, last: 10n, timeline: 'T1', acknowledged: never });
  try {
    await rejects(r.readBarrier(linearizable), 'READ_INDEX_TIMEOUT', 'cannot read');
  } finally {
    await r.close();
    await p.close();
  }
});

test('on the primary: the wait after the read has the read timeout; SYNC_TIMEOUT and FENCED are reported as a read failure', async () => {
  const node: Node = { applied: 5n, last: 5n, timeline: 'T1', acknowledged: never };
  const r = router(view('http://127.0.0.1:1', true), node, 150);
  try {
    const t0 = Date.now();
    await rejects((await r.readBarrier(linearizable))(), 'READ_INDEX_TIMEOUT', 'not acknowledged');
    const took = Date.now() - t0;
    assert.ok(took >= 140 && took < 2000, `gave up after ${took} ms (timeout 150 ms)`);
    node.acknowledged = () => Promise.reject(new KvError('SYNC_TIMEOUT', 'not confirmed'));
    await rejects((await r.readBarrier(linearizable))(), 'READ_INDEX_TIMEOUT', 'not confirmed by the synchronous standbys');
    node.acknowledged = () => Promise.reject(new KvError('FENCED', 'lease lost'));
    await rejects((await r.readBarrier(linearizable))(), 'NOT_PRIMARY', 'could not renew its leadership lease');
    node.acknowledged = () => Promise.resolve(7n);
    await (await r.readBarrier(linearizable))();
    assert.equal(await r.readIndex(), { lsn: 7n, timeline: 'T1' });
  } finally {
    await r.close();
  }
});

test('readIndex() on a node that is not the primary: NOT_PRIMARY naming the primary', async () => {
  const r = router(view('http://127.0.0.1:9', false), { applied: 0n, last: 0n, timeline: null, acknowledged: never });
  try {
    await rejects(r.readIndex(), 'NOT_PRIMARY', 'ask http://127.0.0.1:9');
  } finally {
    await r.close();
  }
});

test.run();

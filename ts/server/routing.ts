/**
 * Request routing: any node serves clients (docs/replication.md, "Routing on a standby").
 *
 * Writes. Every mutating /v1 route (any method but GET, HEAD and OPTIONS, except the few
 * that act on this node itself: LOCAL_ROUTES) that reaches a node which is not the writable
 * primary (ClusterView.isWritablePrimary) is, by `standby_writes`:
 * - `forward` (default): sent on to the primary with the client's credentials and body
 *   unchanged (forward.ts); the PRIMARY authenticates, authorizes and answers, and its status,
 *   body and the headers that matter come back. This node does not authenticate it first:
 *   its catalog may lag the primary's, and one decision is simpler to reason about.
 * - `redirect`: 307 with Location on the primary (same method and body, RFC 9110).
 * - `refuse`: READ_ONLY (409), naming the primary when known.
 * A request that already carries FORWARDED_HEADER is never forwarded again: a node that is
 * not the primary answers NOT_PRIMARY (503, Retry-After), so a stale view cannot make a loop.
 * No primary known: NOT_PRIMARY (503, Retry-After).
 *
 * Reads. Local by default (`consistency=stale`), stamped with `x-kvstore-applied-lsn`.
 * `consistency=linearizable` (query or `x-kvstore-consistency` header) sees every write
 * acknowledged before the read arrived, and nothing that a failover could still take back:
 * a write is visible on the primary once it is durable there, before the synchronous
 * standbys have confirmed it, and such a write may be lost in a failover (it was never
 * acknowledged). So a linearizable read waits twice, once before it reads and once after:
 * - on the writable primary: confirmLeadership() before; after, every write submitted up to
 *   the moment it read must be acknowledged (durable here, confirmed by the synchronous
 *   quorum, the lease still held: Store._acknowledgedThrough) before it answers.
 * - elsewhere: before, GET /v1/cluster/read-index on the primary (with the client's
 *   credentials): the primary confirms its leadership, takes its last LSN, waits until every
 *   write up to it is acknowledged, and answers it with its timeline; this node waits until it
 *   has applied that LSN. After, if this node's last LSN is past that index (it applied writes
 *   the primary has not acknowledged yet), it asks for a read index again and answers only
 *   when that one covers what it read, on the same timeline. All of it within
 *   `linearizable_read_timeout_ms` (READ_INDEX_TIMEOUT otherwise).
 * A read that could only show a write still pending fails (503, retry) rather than show it:
 * a later read, after a failover, might not (test/cluster-torture.test.ts checks histories).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KvError } from '../errors.js';
import type { ClusterView } from './cluster-view.js';
import { CREDENTIAL_HEADERS, FORWARDED_HEADER, Forwarder, type ForwardTls, PRIMARY_HEADER, problemOf } from './forward.js';

export type StandbyWrites = 'forward' | 'redirect' | 'refuse';
export type Consistency = 'stale' | 'linearizable';

export const CONSISTENCY_HEADER = 'x-kvstore-consistency';
export const READ_INDEX_ROUTE = '/v1/cluster/read-index';

/** Mutating routes that act on this node itself, whatever its role: never routed. */
export const LOCAL_ROUTES: ReadonlySet<string> = new Set(['/v1/admin/promote', '/v1/admin/checkpoint', '/v1/replication/feedback']);
const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A /v1 route (as fastify registered it, prefix included) that only the primary can take. */
export function isPrimaryOnly(method: string, routeUrl: string): boolean {
  return routeUrl.startsWith('/v1/') && !READ_METHODS.has(method) && !LOCAL_ROUTES.has(routeUrl);
}

export interface RoutingOptions {
  view: ClusterView;
  standbyWrites: StandbyWrites;
  forwardTimeoutMs: number;
  linearizableReadTimeoutMs: number;
  /** Certificates to reach the primary with (kvstored: the replication_ca/cert/key settings). */
  tls?: ForwardTls;
  /** This node's applied LSN: what its reads see. */
  appliedLsn: () => bigint;
  /** The LSN of this node's last record (applied or not): a read sees nothing past it. */
  lastLsn: () => bigint;
  /** On the primary: resolves with its last LSN once every write up to it is acknowledged (Store._acknowledgedThrough). */
  acknowledged: () => Promise<bigint>;
  /** This node's timeline (ReplicationNode.timeline()); null without replication. */
  timeline: () => string | null;
  /** Subscribes to "the applied LSN may have moved" (a standby's applied frames); optional, polled anyway. */
  onProgress?: (fn: () => void) => () => void;
  /** Counts a routed request against the client IP's rate limit; the seconds to wait, 0 = go. */
  ipLimit?: (ip: string) => number;
  /** Where outcomes are counted (kvstored's /metrics). */
  metrics?: RoutingMetrics | null;
}

export interface RoutingMetrics {
  routedWrites: { inc(labels: { outcome: string }): void };
  linearizableReads: { inc(labels: { node: string; outcome: string }): void };
  readIndexWait: { observe(seconds: number): void };
}

const POLL_MS = 20;

/** What a read does after it read and before it answers (Router.readBarrier). */
export type ReadSettle = () => Promise<void>;
const SETTLED: ReadSettle = () => Promise.resolve();

/** The primary's answer to GET /v1/cluster/read-index. */
export interface ReadIndex {
  /** Every write up to this LSN is acknowledged. */
  lsn: bigint;
  /** The primary's timeline; null when it did not say (a primary from before timelines were sent). */
  timeline: string | null;
}

/** A failed acknowledgement wait, as a read reports it: a read is not a write that timed out or was fenced. */
function readFailure(err: unknown): unknown {
  const code = (err as KvError).code;
  if (code === 'SYNC_TIMEOUT') return new KvError('READ_INDEX_TIMEOUT', 'a linearizable read: the writes it saw were not confirmed by the synchronous standbys in time; retry', { cause: err });
  if (code === 'FENCED') return new KvError('NOT_PRIMARY', 'a linearizable read: this node could not renew its leadership lease; retry', { cause: err });
  return err;
}

/** The origin of a view's URL; null when it is not an http(s) URL (a view's bug must not become a 500 or a request sent anywhere). */
export function primaryOrigin(url: string | null): string | null {
  if (url === null) return null;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

export class Router {
  readonly #o: RoutingOptions;
  readonly #forwarder: Forwarder;

  constructor(o: RoutingOptions) {
    this.#o = o;
    this.#forwarder = new Forwarder(o.forwardTimeoutMs, o.tls);
  }

  get view(): ClusterView {
    return this.#o.view;
  }

  /**
   * The onRequest step for /v1: a primary-only request on a node that cannot take it is
   * forwarded, redirected or refused here. Resolves true when it answered the request,
   * false when the route should run here.
   */
  async routeWrite(request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    const route = request.routeOptions.url;
    if (route === undefined || !isPrimaryOnly(request.method, route)) return false;
    if (this.#o.view.isWritablePrimary()) return false;
    const m = this.#o.metrics;
    try {
      await this.#route(request, reply, route);
      m?.routedWrites.inc({ outcome: this.#o.standbyWrites === 'forward' ? 'forwarded' : 'redirected' });
      return true;
    } catch (err) {
      const code = (err as KvError).code;
      m?.routedWrites.inc({ outcome: code === 'READ_ONLY' ? 'refused' : String(code ?? 'internal').toLowerCase() });
      throw err;
    }
  }

  async #route(request: FastifyRequest, reply: FastifyReply, route: string): Promise<void> {
    const { view } = this.#o;
    const primary = primaryOrigin(view.primaryUrl());
    if (request.headers[FORWARDED_HEADER] !== undefined) {
      throw new KvError('NOT_PRIMARY', `this node is not the primary and does not forward a forwarded request again${primary ? ` (its primary is ${primary})` : ''}; retry`);
    }
    if (this.#o.standbyWrites === 'refuse') {
      throw new KvError('READ_ONLY', `this node is not the primary and takes no writes (standby_writes = refuse)${primary ? `: write to ${primary}` : ''}`);
    }
    if (primary === null) throw new KvError('NOT_PRIMARY', 'this node is not the primary and no primary is known right now; retry');
    const wait = this.#o.ipLimit?.(request.ip) ?? 0;
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new KvError('RATE_LIMITED', `rate limit reached; retry in ${wait} s`);
    }
    const path = request.raw.url ?? route;
    if (this.#o.standbyWrites === 'redirect') {
      reply.code(307).header('location', primary + path).header(PRIMARY_HEADER, primary).send();
      return;
    }
    const h = request.headers;
    const hasBody = (h['content-length'] !== undefined && h['content-length'] !== '0') || h['transfer-encoding'] !== undefined;
    const r = await this.#forwarder.send({
      primary, method: request.method, path, incoming: h, requestId: request.id, body: hasBody ? request.raw : null, what: `${request.method} ${path.split('?')[0]}`,
    });
    reply.code(r.status).headers(r.headers).header(PRIMARY_HEADER, primary).send(r.body);
  }

  /** The consistency a read asks for: `consistency` in the query or the header (both: the same), default stale. */
  consistencyOf(request: FastifyRequest): Consistency {
    const q = (request.query as { consistency?: unknown } | undefined)?.consistency;
    const rawHeader = request.headers[CONSISTENCY_HEADER];
    const h = Array.isArray(rawHeader) ? rawHeader.join(',') : rawHeader;
    if (h !== undefined && h !== 'stale' && h !== 'linearizable') throw new KvError('INVALID_ARGUMENT', `${CONSISTENCY_HEADER} must be stale or linearizable`);
    if (q !== undefined && h !== undefined && q !== h) throw new KvError('INVALID_ARGUMENT', `consistency=${String(q)} and ${CONSISTENCY_HEADER}: ${h} disagree`);
    return (q ?? h ?? 'stale') as Consistency;
  }

  /**
   * Before a read: waits as its consistency asks (see the file comment). Resolves with the
   * step to await after the read and before answering it; it rejects when what the read saw
   * may not be acknowledged, and the read must then fail.
   */
  async readBarrier(request: FastifyRequest): Promise<ReadSettle> {
    if (this.consistencyOf(request) === 'stale') return SETTLED;
    const m = this.#o.metrics;
    const node = this.#o.view.isWritablePrimary() ? 'primary' : 'standby';
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + this.#o.linearizableReadTimeoutMs;
    const failed = (err: unknown): never => {
      m?.linearizableReads.inc({ node, outcome: (err as KvError).code ?? 'INTERNAL' });
      throw err;
    };
    let index: ReadIndex | null = null;
    try {
      if (node === 'primary') await this.#o.view.confirmLeadership();
      else index = await this.#catchUp(request, deadline);
    } catch (err) {
      failed(err);
    }
    return async () => {
      try {
        await (index === null ? this.#acknowledged(deadline) : this.#confirmRead(request, index, deadline));
      } catch (err) {
        failed(err);
      }
      m?.linearizableReads.inc({ node, outcome: 'ok' });
      if (node === 'standby') m?.readIndexWait.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    };
  }

  #primary(): string {
    const primary = primaryOrigin(this.#o.view.primaryUrl());
    if (primary === null) throw new KvError('NOT_PRIMARY', 'a linearizable read needs the primary, and none is known right now; retry, or read with consistency=stale');
    return primary;
  }

  async #catchUp(request: FastifyRequest, deadline: number): Promise<ReadIndex> {
    const index = await this.#readIndexFrom(this.#primary(), request, deadline);
    await this.#waitApplied(index.lsn, deadline);
    return index;
  }

  /** After a standby read: everything it could have seen (its last LSN) is acknowledged by the primary, on the primary's timeline. */
  async #confirmRead(request: FastifyRequest, index: ReadIndex, deadline: number): Promise<void> {
    const seen = this.#o.lastLsn();
    let covering = index;
    if (seen > index.lsn) {
      covering = await this.#readIndexFrom(this.#primary(), request, deadline);
      if (covering.lsn < seen) {
        throw new KvError('READ_INDEX_TIMEOUT', `a linearizable read: this node holds records up to LSN ${seen} and the primary has acknowledged only up to ${covering.lsn} (it changed since the read began?); retry`);
      }
    }
    const mine = this.#o.timeline();
    if (covering.timeline !== null && mine !== null && covering.timeline !== mine) {
      throw new KvError('READ_INDEX_TIMEOUT', `a linearizable read: this node is on timeline ${mine} and the primary on ${covering.timeline}; it has not followed the primary's timeline yet, retry`);
    }
  }

  /** After a read on the primary: every write submitted up to it is acknowledged, within the deadline. */
  #acknowledged(deadline: number): Promise<bigint> {
    return new Promise<bigint>((resolve, reject) => {
      const t = setTimeout(() => reject(new KvError('READ_INDEX_TIMEOUT', `a linearizable read: the writes it saw were not acknowledged (confirmed by the synchronous standbys) within linearizable_read_timeout_ms (${this.#o.linearizableReadTimeoutMs} ms); retry`)), Math.max(0, deadline - Date.now()));
      this.#o.acknowledged().then(
        (lsn) => {
          clearTimeout(t);
          resolve(lsn);
        },
        (err: unknown) => {
          clearTimeout(t);
          reject(readFailure(err));
        },
      );
    });
  }

  async #readIndexFrom(primary: string, request: FastifyRequest, deadline: number): Promise<ReadIndex> {
    let r;
    try {
      r = await this.#forwarder.send({
        primary, method: 'GET', path: READ_INDEX_ROUTE, incoming: request.headers, requestId: request.id, body: null,
        pass: CREDENTIAL_HEADERS, timeoutMs: Math.max(1, deadline - Date.now()), what: 'a linearizable read',
      });
    } catch (err) {
      throw new KvError('READ_INDEX_TIMEOUT', `a linearizable read: no read index from the primary ${primary}: ${(err as Error).message}`, { cause: err });
    }
    if (r.status === 200) {
      try {
        const { lsn, timeline } = JSON.parse(r.body.toString('utf8')) as { lsn?: unknown; timeline?: unknown };
        if (typeof lsn === 'string' && /^\d{1,20}$/.test(lsn) && (timeline === undefined || typeof timeline === 'string')) {
          return { lsn: BigInt(lsn), timeline: timeline ?? null };
        }
      } catch {
        /* answered below */
      }
      throw new KvError('READ_INDEX_TIMEOUT', `a linearizable read: the primary ${primary} answered a read index this node cannot read`);
    }
    const p = problemOf(r);
    // The primary's refusal as it gave it (AUTH_FAILED, PERMISSION_DENIED, RATE_LIMITED, NOT_PRIMARY …).
    if (p) throw new KvError(p.code as KvError['code'], `the primary ${primary} refused the read index: ${p.detail}`);
    throw new KvError('READ_INDEX_TIMEOUT', `a linearizable read: the primary ${primary} answered ${r.status} for the read index`);
  }

  async #waitApplied(lsn: bigint, deadline: number): Promise<void> {
    const { appliedLsn, onProgress } = this.#o;
    while (appliedLsn() < lsn) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new KvError('READ_INDEX_TIMEOUT', `a linearizable read: this node applied up to LSN ${appliedLsn()}, the primary's read index is ${lsn}, and it did not catch up within linearizable_read_timeout_ms (${this.#o.linearizableReadTimeoutMs} ms)`);
      }
      await new Promise<void>((resolve) => {
        let off = (): void => {};
        const t = setTimeout(() => {
          off();
          resolve();
        }, Math.min(POLL_MS, left));
        off = onProgress?.(() => {
          clearTimeout(t);
          off();
          resolve();
        }) ?? off;
      });
    }
  }

  /**
   * GET /v1/cluster/read-index on this node: once it has confirmed it is the primary with a
   * live lease, its last LSN as it then stands, when every write up to it is acknowledged;
   * with its timeline. NOT_PRIMARY elsewhere.
   */
  async readIndex(): Promise<ReadIndex> {
    const { view } = this.#o;
    if (!view.isWritablePrimary()) {
      const p = primaryOrigin(view.primaryUrl());
      throw new KvError('NOT_PRIMARY', `this node is not the primary${p ? `; ask ${p}` : ''}`);
    }
    await view.confirmLeadership();
    const lsn = await this.#acknowledged(Date.now() + this.#o.linearizableReadTimeoutMs);
    return { lsn, timeline: this.#o.timeline() };
  }

  close(): Promise<void> {
    return this.#forwarder.close();
  }
}

/**
 * The embedded read replica of a cluster (`open({ dir, replicaOf: [member URLs], apiKey })`):
 * asks the listed members who the leader is (GET /v1/cluster, which every member answers from
 * etcd) and points the node's WAL receiver at it with ReplicationNode.followLeader, the call
 * the cluster agent points a kvstored standby with: a new leader, or the same one on a new
 * timeline, re-points it, and the new session's HELLO streams on, rewinds the divergent tail
 * or re-bootstraps.
 *
 * When it asks:
 *  - at start, then every POLL_MS while it follows (a new leader is seen within that);
 *  - before every connection the receiver makes (confirm()): it streams only from the URL the
 *    cluster names as leader at that moment, so a stale ex-primary never feeds it, and a
 *    stream that ended (the primary died, stepped down or restarted) is followed by a fresh
 *    question rather than a reconnection to whoever was primary.
 * When no member answers, or none names a leader (a failover under way), it asks again after
 * a capped exponential backoff (BACKOFF_MIN_MS … BACKOFF_MAX_MS), never in a busy loop; its
 * lastError() says why (store.replication().lastError).
 */
import { request, type Dispatcher } from 'undici';
import { KvError, isErrorCode, type ErrorCode } from '../errors.js';
import type { Log, ReplicationNode, UpstreamPicker } from './node.js';
import { errorFromProblem, tlsDispatcher, type ReceiverTls } from './wal-receiver.js';

export const POLL_MS = 1000;
export const BACKOFF_MIN_MS = 100;
export const BACKOFF_MAX_MS = 5000;
/** The longest one member may take to answer (connecting included). */
export const ASK_TIMEOUT_MS = 2000;

export interface FollowerOptions {
  /** The members' base URLs, as the user gave them (validated by open()). */
  members: readonly string[];
  apiKey?: string | undefined;
  tls?: ReceiverTls | undefined;
  log: Log;
}

/** The leader as a member reported it (GET /v1/cluster's `leader`, and the cluster's name). */
export interface ClusterLeader {
  cluster: string;
  nodeId: string;
  url: string;
  timeline: string | null;
}

export class ClusterFollower implements UpstreamPicker {
  readonly #o: FollowerOptions;
  readonly #dispatcher: Dispatcher;
  readonly #abort = new AbortController();
  #node: ReplicationNode | null = null;
  #running: Promise<void> | null = null;
  #stopping = false;
  /** Ends the current wait early (confirm() saw another leader). */
  #wake: (() => void) | null = null;
  /** The member that answered last: asked first next time. */
  #preferred = 0;
  /** The cluster's name, from the first answer: a member of another cluster is not believed. */
  #cluster: string | null = null;
  #lastError: { code: string; message: string } | null = null;
  /** What was last logged, so a lasting failure is logged once, not every retry. */
  #logged = '';

  constructor(o: FollowerOptions) {
    this.#o = o;
    this.#dispatcher = tlsDispatcher(o.tls);
  }

  lastError(): { code: string; message: string } | null {
    return this.#lastError;
  }

  /** Starts following the cluster's leader with `node` (a standby with no primary yet). */
  start(node: ReplicationNode): void {
    if (this.#running) return;
    this.#node = node;
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
    await this.#dispatcher.close().catch(() => {});
  }

  /**
   * The receiver's check before it connects to `url`: resolves when the cluster names `url`
   * the leader now; otherwise throws (NOT_PRIMARY: another node leads, and the loop re-points
   * the receiver at once; or why no member could say) and the receiver backs off.
   */
  async confirm(url: string, signal: AbortSignal): Promise<void> {
    const leader = await this.#ask(signal);
    if (leader.url === url) return;
    this.#wake?.();
    throw new KvError('NOT_PRIMARY', `${url} is not the leader of cluster ${leader.cluster} (${leader.nodeId} at ${leader.url} is): not streaming from it`);
  }

  async #loop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.#stopping) {
      let wait = POLL_MS;
      try {
        const leader = await this.#ask(this.#abort.signal);
        if (await this.#node!.followLeader(leader.url, leader.timeline)) {
          this.#o.log('info', `replication: following ${leader.nodeId} at ${leader.url}, the leader of cluster ${leader.cluster} (timeline ${leader.timeline})`);
        }
        this.#lastError = null;
        this.#logged = '';
        backoff = BACKOFF_MIN_MS;
      } catch (err) {
        if (this.#stopping) break;
        const e = err instanceof KvError ? err : new KvError('UNAVAILABLE', (err as Error).message);
        this.#lastError = { code: e.code, message: e.message };
        if (this.#logged !== e.code) {
          this.#logged = e.code;
          this.#o.log('warn', `replication: cannot find the cluster's leader: ${e.code}: ${e.message}; asking again with backoff (up to ${BACKOFF_MAX_MS} ms)`);
        }
        wait = backoff;
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
      await this.#sleep(wait);
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (this.#wake === done) this.#wake = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  /**
   * Asks the members in turn (the last one that answered first) until one names a leader.
   * Throws UNAVAILABLE when none does (each member's reason in the message), or the one code
   * every member failed with (AUTH_FAILED, PERMISSION_DENIED: the apiKey is wrong).
   */
  async #ask(signal: AbortSignal): Promise<ClusterLeader> {
    const n = this.#o.members.length;
    const failures: Array<{ member: string; code: ErrorCode; message: string }> = [];
    let leaderless = 0;
    for (let i = 0; i < n; i++) {
      if (signal.aborted) throw new KvError('CLOSED', 'the replica is closing');
      const at = (this.#preferred + i) % n;
      const member = this.#o.members[at]!;
      try {
        const leader = await this.#askOne(member, signal);
        this.#preferred = at;
        if (leader) return leader;
        leaderless++;
      } catch (err) {
        const e = err instanceof KvError ? err : new KvError('UNAVAILABLE', (err as Error).message);
        failures.push({ member, code: e.code, message: e.message });
      }
    }
    if (leaderless > 0) throw new KvError('UNAVAILABLE', `the cluster has no leader at the moment (a failover is under way)${failures.length ? `; ${describe(failures)}` : ''}`);
    const code = failures.every((f) => f.code === failures[0]!.code) && failures[0]!.code !== 'CLOSED' ? failures[0]!.code : 'UNAVAILABLE';
    throw new KvError(code, `no member of the cluster named its leader: ${describe(failures)}`);
  }

  /** GET /v1/cluster on one member: its leader (null: it has none now). */
  async #askOne(member: string, signal: AbortSignal): Promise<ClusterLeader | null> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#o.apiKey) headers['x-api-key'] = this.#o.apiKey;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL('/v1/cluster', member), {
        method: 'GET', headers, dispatcher: this.#dispatcher,
        signal: AbortSignal.any([signal, AbortSignal.timeout(ASK_TIMEOUT_MS)]), headersTimeout: ASK_TIMEOUT_MS, bodyTimeout: ASK_TIMEOUT_MS,
      });
    } catch (err) {
      if (signal.aborted) throw new KvError('CLOSED', 'the replica is closing');
      const e = err as Error & { code?: string };
      throw new KvError(e.name === 'TimeoutError' ? 'TIMEOUT' : 'UNAVAILABLE', e.name === 'TimeoutError' ? `no answer within ${ASK_TIMEOUT_MS} ms` : (e.code ?? e.message));
    }
    const text = await res.body.text().catch(() => '');
    if (res.statusCode === 404) throw new KvError('NOT_FOUND', 'not in cluster mode (GET /v1/cluster answered 404); give a single primary as replicaOf: \'URL\'');
    if (res.statusCode !== 200) {
      const e = errorFromProblem(res.statusCode, text);
      throw new KvError(isErrorCode(e.code) ? e.code : 'UNAVAILABLE', e.message.replace(/^primary answered/, 'answered'));
    }
    const leader = parseLeader(text);
    if (leader === undefined) throw new KvError('UNAVAILABLE', 'GET /v1/cluster answered something that is not a cluster status');
    if (this.#cluster !== null && leader.cluster !== this.#cluster) {
      throw new KvError('REPLICATION_MISMATCH', `it is a member of cluster ${leader.cluster}, not of ${this.#cluster} as the members asked before`);
    }
    this.#cluster = leader.cluster;
    return leader.nodeId === null ? null : leader as ClusterLeader;
  }
}

function describe(failures: ReadonlyArray<{ member: string; code: string; message: string }>): string {
  return failures.map((f) => `${f.member}: ${f.code}: ${f.message}`).join('; ');
}

/** GET /v1/cluster's answer (cluster/status.ts): the leader (nodeId null: none), undefined when malformed. */
function parseLeader(text: string): { cluster: string; nodeId: string | null; url: string; timeline: string | null } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const s = v as { cluster?: unknown; leader?: unknown } | null;
  if (typeof s !== 'object' || s === null || typeof s.cluster !== 'string') return undefined;
  if (s.leader === null) return { cluster: s.cluster, nodeId: null, url: '', timeline: null };
  const l = s.leader as { nodeId?: unknown; url?: unknown; timeline?: unknown } | undefined;
  if (typeof l !== 'object' || l === null || typeof l.nodeId !== 'string' || typeof l.url !== 'string') return undefined;
  if (l.timeline !== null && typeof l.timeline !== 'string') return undefined;
  try {
    const u = new URL(l.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  } catch {
    return undefined;
  }
  return { cluster: s.cluster, nodeId: l.nodeId, url: l.url, timeline: l.timeline };
}

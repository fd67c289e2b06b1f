/**
 * Cluster-mode kvstored nodes for the cluster tests (failover, rejoin, partition, torture,
 * the dashboard, the embedded replica of a cluster): real processes (repl-cluster.ts's
 * startNode) started with the interface of issue 15 — `--cluster NAME --etcd URLS --node-id ID
 * --advertise-url URL` — on fixed loopback ports (a restarted node comes back where the others
 * look for it), reaped even if the test process dies (reaper.ts).
 *
 * The first node bootstraps the cluster alone and asynchronously, waits until it leads
 * steadily, makes the credentials (an admin API key, a replicator API key), then restarts
 * with the replicator's key and its synchronous setting: with synchronous standbys the
 * credentials' own writes would wait for a standby that cannot log in yet, and a former
 * primary needs the key to follow the next one. (Its SIGTERM revokes its lease; it takes the
 * leader key again.)
 *
 * Per node, the etcd endpoints and the advertised URL can be a proxy's (partition tests).
 */
import type { ClusterStatus } from '../ts/cluster/status.js';
import { tempDir } from './helpers.js';
import { trackProcess } from './reaper.js';
import { type Credentials, type KvNode, credentials, freePort, sleep, startNode } from './repl-cluster.js';

// The shape of GET /v1/cluster, as the server defines it.
export type { ClusterMemberStatus, ClusterStatus } from '../ts/cluster/status.js';

/** The lease TTL every node asks for unless the options say otherwise. */
export const LEASE_TTL_MS = 1000;

export interface NodeSpec {
  id: string;
  port: number;
  dir: string;
  /** The etcd endpoints this node is given (comma-joined). */
  etcd: string;
  /** The URL it advertises (its own, or a proxy's in front of it). */
  advertise: string;
}

export interface ClusterOptions {
  /** The cluster's name (default: one per instance in this process). */
  name?: string;
  /** synchronous_standbys (default 1). */
  sync?: number;
  leaseTtlMs?: number;
  renewIntervalMs?: number;
  /** More kvstored flags for every node. */
  args?: readonly string[];
  /**
   * A one-node cluster: the bootstrap node stays up as started (sync must be 0) instead of
   * restarting with the replicator's key, which only a node that may one day follow another needs.
   */
  single?: boolean;
}

let made = 0;

export class ClusterNodes {
  readonly nodes = new Map<string, KvNode>();
  readonly specs = new Map<string, NodeSpec>();
  creds: Credentials | null = null;
  readonly name: string;
  readonly sync: number;
  readonly leaseTtlMs: number;
  readonly #o: ClusterOptions;

  constructor(readonly etcd: string, o: ClusterOptions = {}) {
    this.name = o.name ?? `c${process.pid}-${++made}`;
    this.sync = o.sync ?? 1;
    this.leaseTtlMs = o.leaseTtlMs ?? LEASE_TTL_MS;
    this.#o = o;
  }

  /** Declares node id (a port, a directory) without starting it. */
  async define(id: string, o: { etcd?: string; advertise?: (port: number) => Promise<string> | string } = {}): Promise<NodeSpec> {
    const port = await freePort();
    const spec: NodeSpec = { id, port, dir: tempDir(`cl-${id}`), etcd: o.etcd ?? this.etcd, advertise: o.advertise ? await o.advertise(port) : `http://127.0.0.1:${port}` };
    this.specs.set(id, spec);
    return spec;
  }

  /** define() and start(). */
  async add(id: string, o: { etcd?: string } = {}): Promise<KvNode> {
    await this.define(id, o);
    return this.start(id);
  }

  /**
   * Starts (or restarts: same directory, same port) node id. The first one bootstraps, makes
   * the credentials, and is back as the cluster's (only) primary when this resolves.
   */
  async start(id: string): Promise<KvNode> {
    if (!this.specs.has(id)) await this.define(id);
    if (this.creds) {
      if (this.#o.single) throw new Error('a single-node ClusterNodes starts one node');
      return this.#spawn(id, this.sync);
    }
    if (this.#o.single && this.sync !== 0) throw new Error('a single-node cluster has no synchronous standby');
    const first = await this.#spawn(id, 0);
    await this.#stableLeader(first);
    this.creds = await this.#credentials(first);
    if (this.#o.single) return first;
    const code = await first.stop();
    if (code !== 0) throw new Error(`the bootstrap node ${id} exited ${code}: ${first.tail()}`);
    const node = await this.#spawn(id, this.sync);
    await this.#stableLeader(node);
    return node;
  }

  /**
   * Waits until `node` leads (its public /metrics says kvstore_cluster_leader 1) on two reads a
   * lease apart. On a loaded machine a new primary's start-up can stall its event loop past the
   * fence deadline: it then fences itself, restarts as a standby and is elected again
   * (docs/cluster.md); the credentials are made once that has settled.
   */
  async #stableLeader(node: KvNode): Promise<void> {
    const t0 = Date.now();
    let streak = 0;
    while (Date.now() - t0 < 20_000) {
      const text = await node.api('GET', '/metrics', { timeoutMs: 2000 }).then((r) => r.text, () => '');
      streak = /^kvstore_cluster_leader 1$/m.test(text) ? streak + 1 : 0;
      if (streak >= 2) return;
      await sleep(this.leaseTtlMs);
    }
    throw new Error(`${node.url} did not lead steadily within 20 s\n${this.tails()}`);
  }

  /** The credentials, retried while the node is not answering (it may be reopening as the primary). */
  async #credentials(node: KvNode): Promise<Credentials> {
    const t0 = Date.now();
    for (;;) {
      try {
        return await credentials(node);
      } catch (err) {
        if (Date.now() - t0 > 20_000 || !node.alive || /ALREADY_EXISTS/.test((err as Error).message)) throw new Error(`${(err as Error).message}\n${this.tails()}`);
        await sleep(100);
      }
    }
  }

  async #spawn(id: string, sync: number): Promise<KvNode> {
    const s = this.specs.get(id)!;
    const node = await startNode(s.dir, {
      port: s.port,
      ...(this.creds ? { apiKey: this.creds.replicator } : {}),
      args: [
        '--cluster', this.name, '--etcd', s.etcd, '--node-id', id, '--advertise-url', s.advertise,
        '--synchronous-standbys', String(sync), '--synchronous-timeout-ms', '5000',
        '--cluster-lease-ttl-ms', String(this.leaseTtlMs), '--cluster-renew-interval-ms', String(this.#o.renewIntervalMs ?? 200),
        ...(this.#o.args ?? []),
      ],
    });
    trackProcess(node.proc);
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): KvNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  get ids(): string[] {
    return [...this.specs.keys()];
  }

  alive(): string[] {
    return this.ids.filter((id) => this.nodes.get(id)?.alive === true);
  }

  get key(): string {
    if (!this.creds) throw new Error('no credentials yet');
    return this.creds.admin;
  }

  /** The last log lines of every node (failure messages). */
  tails(lines = 25): string {
    return [...this.nodes].map(([id, n]) => `--- ${id}:\n${(n.stdout() + n.stderr()).split('\n').filter((l) => !l.includes('NOT_FOUND: primary answered')).slice(-lines).join('\n')}`).join('\n');
  }

  async status(id: string, timeoutMs = 3_000): Promise<ClusterStatus> {
    const r = await this.node(id).api('GET', '/v1/cluster', { key: this.key, timeoutMs });
    if (r.status !== 200) throw new Error(`GET /v1/cluster on ${id}: ${r.status} ${r.text}`);
    return r.json<ClusterStatus>();
  }

  /** Polls GET /v1/cluster until pred holds (bounded): on `via`, or on every live node in turn. */
  async waitFor(pred: (s: ClusterStatus) => boolean, what: string, timeoutMs = 20_000, via?: string): Promise<ClusterStatus> {
    const t0 = Date.now();
    let last: ClusterStatus | string = '';
    while (Date.now() - t0 < timeoutMs) {
      for (const id of via !== undefined ? [via] : this.alive()) {
        try {
          last = await this.status(id, 2_000);
          if (pred(last)) return last;
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await sleep(50);
    }
    throw new Error(`${what}: not after ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${this.tails()}`);
  }

  /**
   * Every one of `ids` a healthy member in its role, a leader (`leader` if given), the sync
   * set full (as full as the standbys among `ids` allow).
   */
  settled(ids = this.alive(), o: { leader?: string; via?: string; timeoutMs?: number } = {}): Promise<ClusterStatus> {
    return this.waitFor((s) => s.leader !== null && (o.leader === undefined || s.leader.nodeId === o.leader)
      && ids.every((id) => s.members.some((m) => m.nodeId === id && m.healthy && m.role === (id === s.leader!.nodeId ? 'primary' : 'standby')))
      && s.syncSet.length >= Math.min(this.sync, ids.length - 1),
    `cluster ${this.name} settled (${o.leader ? `${o.leader} leading ` : ''}${ids.join(',')})`, o.timeoutMs ?? 20_000, o.via);
  }

  /** Stops every node (SIGKILL: the tests compare what was acknowledged, not clean shutdowns). */
  async killAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill9()));
  }
}

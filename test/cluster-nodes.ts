/**
 * Cluster-mode kvstored nodes for the torture and partition tests: real processes
 * (repl-cluster.ts's startNode) started with the interface of issue 15 —
 * `--cluster NAME --etcd URLS --node-id ID --advertise-url URL` — on fixed loopback ports
 * (a restarted node comes back where the others look for it), reaped even if the test
 * process dies (reaper.ts). The first node bootstraps the cluster and makes the
 * credentials (an admin API key, a replicator API key) asynchronously, then restarts with
 * the replicator's key and its synchronous setting (the credentials' own writes would
 * otherwise wait for a standby that cannot log in yet, and a former primary needs the key
 * to follow the next one).
 *
 * Per node, the etcd endpoints and the advertised URL can be a proxy's (partition tests).
 */
import type { ClusterStatus } from '../ts/cluster/status.js';
import { tempDir } from './helpers.js';
import { trackProcess } from './reaper.js';
import { type Credentials, type KvNode, credentials, freePort, sleep, startNode } from './repl-cluster.js';

// The shape of GET /v1/cluster, as the server defines it.
export type { ClusterMemberStatus, ClusterStatus } from '../ts/cluster/status.js';

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
  name?: string;
  /** synchronous_standbys (default 1). */
  sync?: number;
  leaseTtlMs?: number;
  renewIntervalMs?: number;
  /** More kvstored flags for every node. */
  args?: string[];
}

export class ClusterNodes {
  readonly nodes = new Map<string, KvNode>();
  readonly specs = new Map<string, NodeSpec>();
  creds: Credentials | null = null;
  readonly name: string;
  readonly sync: number;
  readonly #o: ClusterOptions;

  constructor(readonly etcd: string, o: ClusterOptions = {}) {
    this.name = o.name ?? 'torture';
    this.sync = o.sync ?? 1;
    this.#o = o;
  }

  /** Declares node id (a port, a directory) without starting it. */
  async define(id: string, o: { etcd?: string; advertise?: (port: number) => Promise<string> | string } = {}): Promise<NodeSpec> {
    const port = await freePort();
    const spec: NodeSpec = { id, port, dir: tempDir(`cl-${id}`), etcd: o.etcd ?? this.etcd, advertise: o.advertise ? await o.advertise(port) : `http://127.0.0.1:${port}` };
    this.specs.set(id, spec);
    return spec;
  }

  /** Starts (or restarts: same directory, same port) node id. */
  async start(id: string): Promise<KvNode> {
    if (!this.specs.has(id)) await this.define(id);
    // Always, even without synchronous standbys: the first node must restart with the
    // replicator's key too, or it cannot follow anyone once it is no longer the primary.
    if (!this.creds) {
      const first = await this.#spawn(id, 0); // makes this.creds
      const code = await first.stop();
      if (code !== 0) throw new Error(`the bootstrap node ${id} exited ${code}: ${first.tail()}`);
    }
    return this.#spawn(id, this.sync);
  }

  async #spawn(id: string, sync: number): Promise<KvNode> {
    const s = this.specs.get(id)!;
    const node = await startNode(s.dir, {
      port: s.port,
      ...(this.creds ? { apiKey: this.creds.replicator } : {}),
      args: [
        '--cluster', this.name, '--etcd', s.etcd, '--node-id', id, '--advertise-url', s.advertise,
        '--synchronous-standbys', String(sync), '--synchronous-timeout-ms', '5000',
        '--cluster-lease-ttl-ms', String(this.#o.leaseTtlMs ?? 1000), '--cluster-renew-interval-ms', String(this.#o.renewIntervalMs ?? 200),
        ...(this.#o.args ?? []),
      ],
    });
    trackProcess(node.proc);
    this.nodes.set(id, node);
    if (!this.creds) {
      // A fresh node may listen, then reopen as the cluster's first primary (cluster mode runs
      // one instance per role): retry the credentials' calls while it is not answering.
      const t0 = Date.now();
      for (;;) {
        try {
          this.creds = await credentials(node);
          break;
        } catch (err) {
          if (Date.now() - t0 > 20_000 || !node.alive || /ALREADY_EXISTS/.test((err as Error).message)) throw err;
          await sleep(100);
        }
      }
    }
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

  async status(id: string, timeoutMs = 2_000): Promise<ClusterStatus> {
    const r = await this.node(id).api('GET', '/v1/cluster', { key: this.key, timeoutMs });
    if (r.status !== 200) throw new Error(`GET /v1/cluster on ${id}: ${r.status} ${r.text}`);
    return r.json<ClusterStatus>();
  }

  /** Polls GET /v1/cluster on any live node until pred holds (bounded). */
  async waitFor(pred: (s: ClusterStatus) => boolean, what: string, timeoutMs = 20_000): Promise<ClusterStatus> {
    const t0 = Date.now();
    let last: ClusterStatus | string = '';
    while (Date.now() - t0 < timeoutMs) {
      for (const id of this.alive()) {
        try {
          last = await this.status(id);
          if (pred(last)) return last;
        } catch (err) {
          last = (err as Error).message;
        }
      }
      await sleep(50);
    }
    throw new Error(`${what}: not after ${timeoutMs} ms; last: ${JSON.stringify(last)}; ${this.alive().map((id) => `[${id}] ${this.node(id).tail().slice(-1500)}`).join('\n')}`);
  }

  /** A leader, every one of `ids` a healthy member in its role, the sync set full. */
  settled(ids = this.alive(), timeoutMs = 20_000): Promise<ClusterStatus> {
    return this.waitFor((s) => s.leader !== null && ids.every((id) => s.members.some((m) => m.nodeId === id && m.healthy && m.role === (id === s.leader!.nodeId ? 'primary' : 'standby')))
      && s.syncSet.length >= Math.min(this.sync, ids.length - 1), `cluster ${this.name} settled (${ids.join(',')})`, timeoutMs);
  }

  /** Stops every node (SIGKILL: the tests compare what was acknowledged, not clean shutdowns). */
  async killAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill9()));
  }
}

/**
 * Cluster-mode kvstored nodes for the failover tests: real processes (repl-cluster.ts's
 * startNode) with --cluster/--etcd/--node-id/--advertise-url on fixed loopback ports, the
 * cluster's first node bootstrapping it (and making the credentials), the others joining with
 * the replicator's API key. Writers that count every acknowledged write.
 */
import type { ClusterStatus } from '../ts/cluster/status.js';
import * as assert from 'uvu/assert';
import { tempDir } from './helpers.js';
import { type Credentials, type KvNode, credentials, freePort, sleep, startNode } from './repl-cluster.js';

export const LEASE_TTL_MS = 1000;

// The shape of GET /v1/cluster, as the server defines it.
export type { ClusterMemberStatus as ClusterMember, ClusterStatus } from '../ts/cluster/status.js';

export interface HaNodeSpec {
  id: string;
  port: number;
  dir: string;
  /** etcd endpoints this node uses (comma-joined). */
  etcd: string;
}

export class HaCluster {
  readonly nodes = new Map<string, KvNode>();
  readonly specs = new Map<string, HaNodeSpec>();
  creds: Credentials | null = null;

  /** args: more kvstored flags for every node. */
  constructor(readonly name: string, readonly etcd: string, readonly sync: number, readonly args: readonly string[] = []) {}

  async add(id: string, o: { etcd?: string } = {}): Promise<KvNode> {
    const spec: HaNodeSpec = { id, port: await freePort(), dir: tempDir(`ha-${id}`), etcd: o.etcd ?? this.etcd };
    this.specs.set(id, spec);
    return this.start(id);
  }

  /** Starts (or restarts, same directory and port) node id; the first one bootstraps and makes the credentials. */
  async start(id: string): Promise<KvNode> {
    // With synchronous standbys even the credentials' writes (login, API keys) wait for a
    // standby, and standbys need those credentials: the first node makes them asynchronous,
    // then restarts synchronous (its SIGTERM revokes its lease; it takes the key again).
    if (!this.creds && this.sync > 0) {
      const first = await this.#spawn(id, 0);
      await this.#stableLeader(first);
      this.creds = await credentials(first).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${this.tails()}`)));
      await first.stop();
    }
    const node = await this.#spawn(id, this.sync);
    if (!this.creds) await this.#stableLeader(node);
    this.creds ??= await credentials(node).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${this.tails()}`)));
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
      await sleep(LEASE_TTL_MS);
    }
    throw new Error(`${node.url} did not lead steadily within 20 s\n${this.tails()}`);
  }

  async #spawn(id: string, sync: number): Promise<KvNode> {
    const s = this.specs.get(id)!;
    const node = await startNode(s.dir, {
      port: s.port,
      ...(this.creds ? { apiKey: this.creds.replicator } : {}),
      args: [
        '--cluster', this.name, '--etcd', s.etcd, '--node-id', id, '--advertise-url', `http://127.0.0.1:${s.port}`,
        '--synchronous-standbys', String(sync), '--synchronous-timeout-ms', '5000',
        '--cluster-lease-ttl-ms', String(LEASE_TTL_MS), '--cluster-renew-interval-ms', '200',
        ...this.args,
      ],
    });
    this.nodes.set(id, node);
    return node;
  }

  /** The last log lines of every node (failure messages). */
  tails(lines = 25): string {
    return [...this.nodes].map(([id, n]) => `--- ${id}:\n${(n.stdout() + n.stderr()).split('\n').filter((l) => !l.includes('NOT_FOUND: primary answered')).slice(-lines).join('\n')}`).join('\n');
  }

  node(id: string): KvNode {
    return this.nodes.get(id)!;
  }

  get key(): string {
    return this.creds!.admin;
  }

  async status(id: string): Promise<ClusterStatus> {
    const r = await this.node(id).api('GET', '/v1/cluster', { key: this.key, timeoutMs: 3000 });
    if (r.status !== 200) throw new Error(`GET /v1/cluster on ${id}: ${r.status} ${r.text}`);
    return r.json<ClusterStatus>();
  }

  /** Polls GET /v1/cluster on `via` until pred holds (bounded). */
  async waitFor(via: string, pred: (s: ClusterStatus) => boolean, what: string, timeoutMs = 20_000): Promise<ClusterStatus> {
    const t0 = Date.now();
    let last: ClusterStatus | string = '';
    while (Date.now() - t0 < timeoutMs) {
      try {
        last = await this.status(via);
        if (pred(last)) return last;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(50);
    }
    throw new Error(`${what}: not after ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${this.tails()}`);
  }

  /** Every member registered, the leader `leader`, every other one a healthy standby, a full sync set. */
  async settled(via: string, leader: string, ids: string[], timeoutMs = 20_000): Promise<ClusterStatus> {
    return this.waitFor(via, (s) => s.leader?.nodeId === leader && ids.every((id) => s.members.some((m) => m.nodeId === id && m.healthy && m.role === (id === leader ? 'primary' : 'standby')))
      && s.syncSet.length === this.sync, `cluster ${this.name} settled with ${leader} leading ${ids.join(',')}`, timeoutMs);
  }
}

export interface Ack {
  key: string;
  value: string;
  /** The version (LSN) the primary acknowledged it with. */
  version: bigint;
  /** When the client got the acknowledgement (ms since epoch). */
  at: number;
}

/**
 * `clients` concurrent writers PUT distinct keys to `target()` until stop() (bounded: 30 s);
 * records every acknowledged (2xx) write. A failed write is not retried: its outcome is unknown.
 */
export function writers(node: () => KvNode, key: string, prefix: string, clients = 4): { acked: Ack[]; failed: string[]; stop(): Promise<void> } {
  const acked: Ack[] = [];
  const failed: string[] = [];
  let done = false;
  const t0 = Date.now();
  const loops = Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; !done && Date.now() - t0 < 30_000; i++) {
      const k = `${prefix}-${c}-${i}`;
      const v = `v${i}`;
      try {
        const r = await node().api('PUT', `/v1/kv/${k}`, { key, raw: v, timeoutMs: 3000 });
        if (r.status >= 200 && r.status < 300) acked.push({ key: k, value: v, version: BigInt(r.json<{ version: string }>().version), at: Date.now() });
        else {
          failed.push(`${r.status} ${r.text.slice(0, 200)}`);
          await sleep(20);
        }
      } catch (err) {
        failed.push((err as Error).message);
        await sleep(20);
      }
    }
  });
  return {
    acked, failed,
    stop: async () => {
      done = true;
      await Promise.all(loops);
    },
  };
}

/** Every acknowledged write reads back with its value from `node`. */
export async function assertAllPresent(node: KvNode, key: string, acked: readonly Ack[], where: string): Promise<void> {
  let missing = 0;
  const examples: string[] = [];
  for (const a of acked) {
    const r = await node.api('GET', `/v1/kv/${a.key}`, { key, timeoutMs: 5000 });
    if (r.status !== 200 || r.text !== a.value) {
      missing++;
      if (examples.length < 5) examples.push(`${a.key}: ${r.status} ${r.text.slice(0, 80)}`);
    }
  }
  assert.is(missing, 0, `${missing} of ${acked.length} acknowledged writes missing on ${where}: ${examples.join('; ')}`);
}

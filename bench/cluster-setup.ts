/**
 * What the cluster benchmarks (cluster-write.ts, cluster-read.ts) stand up, all real and on
 * loopback: a 3-member etcd (Debian's etcd 3.4, test/etcd-cluster.ts), a 3-node KVStore++
 * cluster in cluster mode with synchronous_standbys 1 (test/cluster-nodes.ts), or a single
 * kvstored; HTTP clients over one undici Agent with as many connections as requests in
 * flight; etcd's own client (etcd3, the npm client kvstored uses) over gRPC.
 */
import { Etcd3 } from 'etcd3';
import { Agent, request } from 'undici';
import { EtcdCluster, etcdFound } from '../test/etcd-cluster.js';
import { ClusterNodes } from '../test/cluster-nodes.js';
import { credentials, startNode, type KvNode } from '../test/repl-cluster.js';
import { Unavailable } from './common.js';

export function needEtcd(): void {
  if (!etcdFound) throw new Unavailable('etcd is not installed (apt-get install etcd-server etcd-client)');
}

export interface Http {
  put(key: string, value: Buffer): Promise<void>;
  get(key: string): Promise<number>;
  close(): Promise<void>;
}

/** PUT/GET /v1/kv/<key> on `url` with an API key; throws unless 200 (404 counts for a get). */
export function http(url: string, apiKey: string, connections: number): Http {
  const agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    async put(key, value) {
      const r = await request(`${url}/v1/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value, headers: { 'x-api-key': apiKey, 'content-type': 'application/octet-stream' }, dispatcher: agent });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`PUT ${key}: ${r.statusCode}`);
    },
    async get(key) {
      const r = await request(`${url}/v1/kv/${encodeURIComponent(key)}`, { headers: { 'x-api-key': apiKey }, dispatcher: agent });
      const b = await r.body.arrayBuffer();
      if (r.statusCode !== 200 && r.statusCode !== 404) throw new Error(`GET ${key}: ${r.statusCode}`);
      return b.byteLength;
    },
    close: () => agent.close(),
  };
}

export interface KvCluster {
  etcd: EtcdCluster;
  nodes: ClusterNodes;
  leaderUrl: string;
  standbyUrl: string;
  /** Every member's URL (what an embedded replica of the cluster is given). */
  memberUrls: string[];
  key: string;
  /** An API key of the replicator role (what an embedded replica streams with). */
  replicatorKey: string;
  stop(): Promise<void>;
}

export async function startKvCluster(): Promise<KvCluster> {
  needEtcd();
  const etcd = await EtcdCluster.start({ size: 3 });
  const nodes = new ClusterNodes(etcd.endpoints, { sync: 1, name: 'bench', args: ['--rate-limit', '0'] });
  const stop = async (): Promise<void> => {
    await nodes.killAll();
    await etcd.stop();
  };
  try {
    for (const id of ['n1', 'n2', 'n3']) await nodes.start(id);
    const s = await nodes.settled();
    const standby = s.members.find((m) => m.role === 'standby')!.nodeId;
    return {
      etcd, nodes, leaderUrl: nodes.node(s.leader!.nodeId).url, standbyUrl: nodes.node(standby).url,
      memberUrls: nodes.ids.map((id) => nodes.node(id).url), key: nodes.key, replicatorKey: nodes.creds!.replicator, stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function startSingle(dir: string): Promise<{ url: string; key: string; node: KvNode }> {
  const node = await startNode(dir, { args: ['--rate-limit', '0'] });
  const c = await credentials(node);
  return { url: node.url, key: c.admin, node };
}

export interface EtcdBench {
  etcd: EtcdCluster;
  client: Etcd3;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<EtcdBench> {
  needEtcd();
  const etcd = await EtcdCluster.start({ size: 3 });
  const client = new Etcd3({ hosts: etcd.members.map((m) => m.clientUrl) });
  return {
    etcd, client,
    stop: async () => {
      client.close();
      await etcd.stop();
    },
  };
}

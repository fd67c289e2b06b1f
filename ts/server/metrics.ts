/**
 * Prometheus metrics (prom-client, a registry per server): HTTP requests and latency by route
 * and status, storage figures read from store.stats() at scrape time, auth and rate-limit
 * counts, replication (replication-metrics.ts), and the process's own (memory, CPU,
 * event-loop lag). deploy/grafana-dashboard.json
 * charts them. Every `*_total` is a counter and the output passes `promtool check metrics`
 * (test/metrics.test.ts).
 */
import client from 'prom-client';
import { scrapeCounter, scrapeGauge } from './scrape-metrics.js';
import type { AuthService } from '../auth/service.js';
import { FSYNC_BOUNDS_MICROS, GROUP_BOUNDS } from '../engine/types.js';
import { type Store, systemView } from '../store/store.js';
import { collectProcessMetrics } from './process-metrics.js';
import type { ReplicationNode } from '../replication/node.js';
import { registerReplicationMetrics } from './replication-metrics.js';

/** Request latency buckets, seconds, for HTTP and gRPC alike. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'method' | 'route' | 'status'>;
  readonly latency: client.Histogram<'method' | 'route'>;
  readonly grpcRequests: client.Counter<'service' | 'method' | 'code'>;
  readonly grpcLatency: client.Histogram<'service' | 'method'>;
  readonly storageOps: client.Counter<'op'>;
  readonly rateLimited: client.Counter<'limit'>;
  readonly checkpointSeconds: client.Histogram;
  /** Writes a node that is not the primary handled (routing.ts), by outcome. */
  readonly routedWrites: client.Counter<'outcome'>;
  /** consistency=linearizable reads, by where they were served and how they ended. */
  readonly linearizableReads: client.Counter<'node' | 'outcome'>;
  /** A standby's linearizable read: the read index fetched and caught up with, seconds. */
  readonly readIndexWait: client.Histogram;
  readonly #store: Store;
  /** Label children per method/route/status: prom-client hashes a label object on every call otherwise. */
  readonly #children = new Map<string, { count: client.Counter.Internal; time: client.Histogram.Internal<'method' | 'route'> }>();
  readonly #grpcChildren = new Map<string, { count: client.Counter.Internal; time: client.Histogram.Internal<'service' | 'method'> }>();

  /** replication: the node kvstored runs (its role, standbys, receiver); null = the store alone. */
  constructor(store: Store, auth: AuthService | null, replication: ReplicationNode | null = null) {
    this.#store = store;
    const r = this.registry;
    collectProcessMetrics(r, 'kvstore_');
    this.requests = new client.Counter({ name: 'kvstore_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [r] });
    this.latency = new client.Histogram({
      name: 'kvstore_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'], registers: [r],
      buckets: LATENCY_BUCKETS,
    });
    // The gRPC port's requests, labelled as grpc-ecosystem's interceptors do (code = the gRPC
    // status name); storage operations and rate-limit refusals count in the same series as
    // HTTP's, with the same labels, whichever port served them.
    this.grpcRequests = new client.Counter({ name: 'kvstore_grpc_requests_total', help: 'gRPC calls by service, method and status code', labelNames: ['service', 'method', 'code'], registers: [r] });
    this.grpcLatency = new client.Histogram({ name: 'kvstore_grpc_request_duration_seconds', help: 'gRPC call latency', labelNames: ['service', 'method'], registers: [r], buckets: LATENCY_BUCKETS });
    this.storageOps = new client.Counter({ name: 'kvstore_storage_operations_total', help: 'store operations served over HTTP and gRPC', labelNames: ['op'], registers: [r] });
    this.rateLimited = new client.Counter({ name: 'kvstore_rate_limited_total', help: 'requests refused by a rate limit', labelNames: ['limit'], registers: [r] });
    this.checkpointSeconds = new client.Histogram({ name: 'kvstore_checkpoint_duration_seconds', help: 'checkpoints run through the server (admin route, shutdown)', registers: [r], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    this.routedWrites = new client.Counter({ name: 'kvstore_routing_writes_total', help: 'writes on a node that is not the primary, by outcome (forwarded, redirected, refused, or the error code in lower case: not_primary, forward_failed, outcome_unknown, rate_limited)', labelNames: ['outcome'], registers: [r] });
    this.linearizableReads = new client.Counter({ name: 'kvstore_routing_linearizable_reads_total', help: 'consistency=linearizable reads by node (primary, standby) and outcome (ok, or the error code)', labelNames: ['node', 'outcome'], registers: [r] });
    this.readIndexWait = new client.Histogram({ name: 'kvstore_routing_read_index_wait_seconds', help: 'a standby\'s linearizable read: the time it waited for the primary\'s read index, to apply up to it and for what it read to be acknowledged', registers: [r], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    // Zero series up front, so dashboards and alerts see 0 rather than nothing.
    for (const outcome of ['forwarded', 'redirected', 'refused', 'not_primary', 'forward_failed', 'outcome_unknown']) this.routedWrites.inc({ outcome }, 0);
    for (const op of ['get', 'put', 'delete', 'incr', 'scan', 'batch', 'txn', 'watch']) this.storageOps.inc({ op }, 0);
    for (const limit of ['ip', 'principal', 'login']) this.rateLimited.inc({ limit }, 0);
    let lastCheckpoints = -1;
    let lastCheckpointSeen = Date.now();
    const gauge = (name: string, help: string, read: () => number): void => scrapeGauge(r, name, help, read);
    const counter = (name: string, help: string, read: () => number): void => scrapeCounter(r, name, help, read);
    const sys = systemView(store);
    let stats = store.stats();
    let catalogKeys = 0;
    const refresh = (): void => {
      try {
        stats = store.stats();
        catalogKeys = sys.count();
      } catch {
        /* closed: keep the last figures */
      }
      if (stats.checkpoints !== lastCheckpoints) {
        lastCheckpoints = stats.checkpoints;
        lastCheckpointSeen = Date.now();
      }
    };
    // Registered first, so its collect() (which refreshes the figures the others read) runs first.
    new client.Gauge({
      name: 'kvstore_keys', help: 'entries in the data key space (not the catalog: kvstore_catalog_keys); ones expired and not yet swept included', registers: [r],
      collect() {
        refresh();
        this.set(Math.max(0, stats.keys - catalogKeys));
      },
    });
    gauge('kvstore_catalog_keys', 'entries of the system catalog (_sys.: users, roles, grants, API keys, audit records, settings)', () => catalogKeys);
    gauge('kvstore_wal_bytes', 'WAL bytes on disk', () => stats.walBytes);
    gauge('kvstore_wal_segments', 'WAL segment files', () => stats.walSegments);
    counter('kvstore_fsyncs_total', 'fdatasync calls on the WAL', () => stats.fsyncs);
    gauge('kvstore_group_commit_max_records', 'most records one fdatasync covered since open', () => stats.maxGroupCommit);
    gauge('kvstore_group_commit_avg_records', 'records per fdatasync on average since open', () => (stats.fsyncs > 0 ? Number(stats.durableLsn) / stats.fsyncs : 0));
    counter('kvstore_checkpoints_total', 'checkpoints completed (automatic, admin route, shutdown)', () => stats.checkpoints);
    gauge('kvstore_checkpoint_age_seconds', 'seconds since the checkpoint count last moved (as of a scrape)', () => (Date.now() - lastCheckpointSeen) / 1000);
    gauge('kvstore_durable_lsn', 'highest durable LSN', () => Number(stats.durableLsn));
    counter('kvstore_ttl_expired_total', 'entries removed by the TTL sweep', () => stats.expired);
    registerReplicationMetrics(r, store, replication);
    if (auth) {
      const kinds: Array<[kind: string, result: string, read: (s: ReturnType<AuthService['stats']>) => number]> = [
        ['credential', 'ok', (s) => s.authOk],
        ['credential', 'failed', (s) => s.authFailed],
        ['login', 'ok', (s) => s.loginsOk],
        ['login', 'failed', (s) => s.loginsFailed],
        ['lockout', 'locked', (s) => s.lockouts],
      ];
      const last = kinds.map(() => 0);
      const c = new client.Counter({
        name: 'kvstore_auth_total', help: 'authentications by kind and result', labelNames: ['kind', 'result'], registers: [r],
        collect() {
          const s = auth.stats();
          kinds.forEach(([kind, result, read], i) => {
            const v = read(s);
            if (v > last[i]!) this.inc({ kind, result }, v - last[i]!);
            last[i] = v;
          });
        },
      });
      for (const [kind, result] of kinds) c.inc({ kind, result }, 0);
    }
  }

  /** Counts one HTTP response and its latency (seconds). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`;
    let c = this.#children.get(key);
    if (!c) {
      c = { count: this.requests.labels(method, route, String(status)), time: this.latency.labels(method, route) };
      this.#children.set(key, c);
    }
    c.count.inc();
    c.time.observe(seconds);
  }

  /** Counts one gRPC call (code: the gRPC status name, e.g. OK, NOT_FOUND) and its latency (seconds). */
  observeGrpc(service: string, method: string, code: string, seconds: number): void {
    const key = `grpc ${service} ${method} ${code}`;
    let c = this.#grpcChildren.get(key);
    if (!c) {
      c = { count: this.grpcRequests.labels(service, method, code), time: this.grpcLatency.labels(service, method) };
      this.#grpcChildren.set(key, c);
    }
    c.count.inc();
    c.time.observe(seconds);
  }

  /** The Prometheus text: prom-client's metrics plus the engine's own histograms, exact bucket for bucket. */
  async text(): Promise<string> {
    const body = await this.registry.metrics();
    let st;
    try {
      st = this.#store.stats();
    } catch {
      return body;
    }
    return body + histogram('kvstore_fdatasync_duration_seconds', 'fdatasync latency on the WAL since open', FSYNC_BOUNDS_MICROS.map((b) => b / 1e6), st.fsyncBuckets, st.fsyncMicros / 1e6)
      + histogram('kvstore_group_commit_records', 'records made durable per group commit since open', [...GROUP_BOUNDS], st.groupBuckets, st.groupRecords);
  }
}

/** One histogram in the Prometheus text format from per-bucket (not cumulative) counts. */
function histogram(name: string, help: string, bounds: number[], counts: number[], sum: number): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  let acc = 0;
  bounds.forEach((b, i) => {
    acc += counts[i] ?? 0;
    lines.push(`${name}_bucket{le="${b}"} ${acc}`);
  });
  acc += counts[bounds.length] ?? 0;
  lines.push(`${name}_bucket{le="+Inf"} ${acc}`, `${name}_sum ${sum}`, `${name}_count ${acc}`);
  return lines.join('\n') + '\n';
}

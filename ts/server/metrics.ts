/**
 * Prometheus metrics (prom-client, a registry per server): HTTP requests and latency by route
 * and status, storage figures read from store.stats() at scrape time, auth and rate-limit
 * counts, and the process's own (memory, CPU, event-loop lag). deploy/grafana-dashboard.json
 * charts them.
 */
import client from 'prom-client';
import type { AuthService } from '../auth/service.js';
import { FSYNC_BOUNDS_MICROS, GROUP_BOUNDS } from '../engine/types.js';
import type { Store } from '../store/store.js';

export class Metrics {
  readonly registry = new client.Registry();
  readonly requests: client.Counter<'method' | 'route' | 'status'>;
  readonly latency: client.Histogram<'method' | 'route'>;
  readonly storageOps: client.Counter<'op'>;
  readonly rateLimited: client.Counter<'limit'>;
  readonly checkpointSeconds: client.Histogram;
  readonly #store: Store;

  constructor(store: Store, auth: AuthService | null) {
    this.#store = store;
    const r = this.registry;
    client.collectDefaultMetrics({ register: r, prefix: 'kvstore_' });
    this.requests = new client.Counter({ name: 'kvstore_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [r] });
    this.latency = new client.Histogram({
      name: 'kvstore_http_request_duration_seconds', help: 'HTTP request latency', labelNames: ['method', 'route'], registers: [r],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.storageOps = new client.Counter({ name: 'kvstore_storage_operations_total', help: 'store operations served over HTTP', labelNames: ['op'], registers: [r] });
    this.rateLimited = new client.Counter({ name: 'kvstore_rate_limited_total', help: 'requests refused by a rate limit', labelNames: ['limit'], registers: [r] });
    this.checkpointSeconds = new client.Histogram({ name: 'kvstore_checkpoint_duration_seconds', help: 'checkpoints run through the server (admin route, shutdown)', registers: [r], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });

    // Zero series up front, so dashboards and alerts see 0 rather than nothing.
    for (const op of ['get', 'put', 'delete', 'incr', 'scan', 'batch']) this.storageOps.inc({ op }, 0);
    for (const limit of ['ip', 'principal', 'login']) this.rateLimited.inc({ limit }, 0);
    let lastCheckpoints = -1;
    let lastCheckpointSeen = Date.now();
    const gauge = (name: string, help: string, read: () => number): void => {
      new client.Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
    };
    let stats = store.stats();
    const refresh = (): void => {
      try {
        stats = store.stats();
      } catch {
        /* closed: keep the last figures */
      }
      if (stats.checkpoints !== lastCheckpoints) {
        lastCheckpoints = stats.checkpoints;
        lastCheckpointSeen = Date.now();
      }
    };
    new client.Gauge({ name: 'kvstore_keys', help: 'live keys (data and catalog)', registers: [r], collect() { refresh(); this.set(stats.keys); } });
    gauge('kvstore_wal_bytes', 'WAL bytes on disk', () => stats.walBytes);
    gauge('kvstore_wal_segments', 'WAL segment files', () => stats.walSegments);
    gauge('kvstore_fsyncs_total', 'fdatasync calls on the WAL since open', () => stats.fsyncs);
    gauge('kvstore_group_commit_max_records', 'most records one fdatasync covered since open', () => stats.maxGroupCommit);
    gauge('kvstore_group_commit_avg_records', 'records per fdatasync on average since open', () => (stats.fsyncs > 0 ? Number(stats.durableLsn) / stats.fsyncs : 0));
    gauge('kvstore_checkpoints_total', 'checkpoints since open', () => stats.checkpoints);
    gauge('kvstore_checkpoint_age_seconds', 'seconds since the checkpoint count last moved (as of a scrape)', () => (Date.now() - lastCheckpointSeen) / 1000);
    gauge('kvstore_durable_lsn', 'highest durable LSN', () => Number(stats.durableLsn));
    gauge('kvstore_ttl_expired_total', 'entries removed by the TTL sweep since open', () => stats.expired);
    if (auth) {
      const a = (): ReturnType<AuthService['stats']> => auth.stats();
      new client.Gauge({
        name: 'kvstore_auth_total', help: 'authentications by kind and result since start', labelNames: ['kind', 'result'], registers: [r],
        collect() {
          const s = a();
          this.set({ kind: 'credential', result: 'ok' }, s.authOk);
          this.set({ kind: 'credential', result: 'failed' }, s.authFailed);
          this.set({ kind: 'login', result: 'ok' }, s.loginsOk);
          this.set({ kind: 'login', result: 'failed' }, s.loginsFailed);
          this.set({ kind: 'lockout', result: 'locked' }, s.lockouts);
        },
      });
    }
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

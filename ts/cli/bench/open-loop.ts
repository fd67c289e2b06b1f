/**
 * `kvb load`: open-loop load at a fixed rate, like a real population of clients that do not
 * wait for each other. Request i is due at start + i / rate whether or not earlier ones have
 * answered; its response time is measured from when it was *due*, not from when it could
 * be sent, which is the correction for coordinated omission (a stalled server cannot hide
 * the queue it causes). Service time (from the actual send) is kept beside it.
 *
 * Its own Prometheus metrics (prom-client) are served on --metrics-port while it runs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import { collectProcessMetrics } from '../../server/process-metrics.js';
import type { TimelinePoint } from './closed-loop.js';
import { Latency, type LatencySummary } from './histogram.js';
import { type HttpTarget, type Mix, OPS, type Op, mixLabel, picker } from './http-target.js';

export interface LoadSpec {
  rate: number;
  mix: Mix;
  /** 0 = until stopped */
  durationMs: number;
  /** Requests not sent because this many are already in flight count as dropped. */
  maxInflight: number;
}

export interface LoadResult {
  name: 'load';
  mix: Mix;
  mixLabel: string;
  targetRate: number;
  achievedRate: number;
  durationS: number;
  sent: number;
  completed: number;
  errors: number;
  misses: number;
  dropped: number;
  responseTime: LatencySummary;
  serviceTime: LatencySummary;
  byOp: Partial<Record<Op, LatencySummary>>;
  timeline: TimelinePoint[];
  interrupted: boolean;
}

export class LoadMetrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({ name: 'kvb_requests_total', help: 'Requests completed, by operation and outcome (ok, miss, error)', labelNames: ['op', 'outcome'] as const, registers: [this.registry] });
  readonly responseTime = new client.Histogram({
    name: 'kvb_response_time_seconds', help: 'Time from when a request was due to its response (corrected for coordinated omission)', labelNames: ['op'] as const,
    buckets: client.exponentialBuckets(0.0001, 2, 18), registers: [this.registry],
  });
  readonly serviceTime = new client.Histogram({
    name: 'kvb_service_time_seconds', help: 'Time from when a request was sent to its response', labelNames: ['op'] as const,
    buckets: client.exponentialBuckets(0.0001, 2, 18), registers: [this.registry],
  });
  readonly dropped = new client.Counter({ name: 'kvb_dropped_total', help: 'Requests not sent because --max-inflight were already outstanding', registers: [this.registry] });
  readonly inflight = new client.Gauge({ name: 'kvb_inflight_requests', help: 'Requests sent and not yet answered', registers: [this.registry] });
  readonly targetRate = new client.Gauge({ name: 'kvb_target_rate', help: 'Requests per second kvb is asked to send', registers: [this.registry] });
  readonly achievedRate = new client.Gauge({ name: 'kvb_achieved_rate', help: 'Requests per second completed over the last second', registers: [this.registry] });
  // Not a summary (HDR histogram percentiles, not prom-client's), so its label is "percentile":
  // Prometheus reserves "quantile" for summaries (promtool check metrics refuses it elsewhere).
  readonly percentiles = new client.Gauge({ name: 'kvb_response_time_percentile_seconds', help: 'Corrected response time percentiles since the start (HDR histogram)', labelNames: ['percentile'] as const, registers: [this.registry] });
  #server: http.Server | null = null;

  constructor() {
    collectProcessMetrics(this.registry, 'kvb_process_');
  }

  /** Serves GET /metrics; resolves with the URL. */
  listen(port: number, host: string): Promise<string> {
    this.#server = http.createServer((req, res) => {
      if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
        this.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      } else res.writeHead(404, { 'content-type': 'text/plain' }).end('kvb serves /metrics only\n');
    });
    const server = this.#server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const a = server.address() as AddressInfo;
        resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
      });
    });
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

export interface LoadTick {
  elapsedMs: number;
  totalMs: number;
  sent: number;
  rate: number;
  p99Ms: number;
  inflight: number;
  errors: number;
  dropped: number;
}

export async function runOpenLoop(target: HttpTarget, spec: LoadSpec, metrics: LoadMetrics | null, signal: AbortSignal, onTick?: (t: LoadTick) => void): Promise<LoadResult> {
  const pick = picker(spec.mix);
  const response = new Latency();
  const service = new Latency();
  const perOp = new Map<Op, Latency>(OPS.filter((o) => spec.mix[o] > 0).map((o) => [o, new Latency()]));
  const second = new Latency();
  const timeline: TimelinePoint[] = [];
  let sent = 0;
  let completed = 0;
  let errors = 0;
  let misses = 0;
  let dropped = 0;
  let inflight = 0;
  let secOps = 0;
  let secErrors = 0;
  metrics?.targetRate.set(spec.rate);

  const start = performance.now();
  const intervalMs = 1000 / spec.rate;
  let idle: (() => void) | null = null;

  const fire = (due: number): void => {
    const op = pick();
    const sentAt = performance.now();
    inflight++;
    metrics?.inflight.set(inflight);
    void target.run(op).then((outcome) => {
      const end = performance.now();
      inflight--;
      completed++;
      secOps++;
      metrics?.inflight.set(inflight);
      metrics?.requests.inc({ op, outcome });
      if (outcome === 'error') {
        errors++;
        secErrors++;
      } else {
        if (outcome === 'miss') misses++;
        response.recordMs(end - due);
        service.recordMs(end - sentAt);
        perOp.get(op)!.recordMs(end - due);
        second.recordMs(end - due);
        metrics?.responseTime.observe({ op }, (end - due) / 1000);
        metrics?.serviceTime.observe({ op }, (end - sentAt) / 1000);
      }
      if (inflight === 0 && idle) idle();
    });
  };

  // The scheduler: every millisecond, send whatever has come due since the last tick.
  await new Promise<void>((resolve) => {
    let sec = 0;
    const tick = (): void => {
      const now = performance.now();
      const elapsed = now - start;
      if (signal.aborted || (spec.durationMs > 0 && elapsed >= spec.durationMs)) {
        resolve();
        return;
      }
      const due = Math.floor(elapsed / intervalMs) + 1;
      while (sent < due) {
        const dueAt = start + sent * intervalMs;
        sent++;
        if (inflight >= spec.maxInflight) {
          dropped++;
          metrics?.dropped.inc();
        } else fire(dueAt);
      }
      while (elapsed >= (sec + 1) * 1000) {
        timeline.push({ t: sec, ops: secOps, errors: secErrors, p50Ms: second.atPercentileMs(50), p99Ms: second.atPercentileMs(99) });
        metrics?.achievedRate.set(secOps);
        if (metrics) {
          for (const p of [50, 90, 99, 99.9]) metrics.percentiles.set({ percentile: String(p) }, response.atPercentileMs(p) / 1000);
        }
        onTick?.({ elapsedMs: elapsed, totalMs: spec.durationMs, sent, rate: secOps, p99Ms: second.atPercentileMs(99), inflight, errors, dropped });
        second.reset();
        secOps = 0;
        secErrors = 0;
        sec++;
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const elapsedMs = performance.now() - start;
  // Let the requests in flight finish (at most 10 s), so that they are counted.
  if (inflight > 0) {
    await Promise.race([new Promise<void>((r) => (idle = r)), new Promise<void>((r) => setTimeout(r, 10_000).unref())]);
  }
  return {
    name: 'load',
    mix: spec.mix,
    mixLabel: mixLabel(spec.mix),
    targetRate: spec.rate,
    achievedRate: Math.round(completed / (elapsedMs / 1000)),
    durationS: Number((elapsedMs / 1000).toFixed(3)),
    sent,
    completed,
    errors,
    misses,
    dropped,
    responseTime: response.summary(),
    serviceTime: service.summary(),
    byOp: Object.fromEntries([...perOp].map(([o, h]) => [o, h.summary()])),
    timeline,
    interrupted: signal.aborted,
  };
}

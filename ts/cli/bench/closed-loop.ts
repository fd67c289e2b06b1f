/**
 * Closed-loop runs (get-heavy, set-heavy, mixed, suite): `concurrency` workers, each sends
 * a request, waits for the whole response, records its latency and sends the next. The
 * throughput is what the server sustains at that concurrency; latency is per request.
 *
 * Alongside the numbers it records the client's own CPU use and event-loop delay, so a
 * reader can tell whether the client, not the server, was the limit.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type DistributionPoint, Latency, type LatencySummary } from './histogram.js';
import { type HttpTarget, type Mix, OPS, type Op, type Outcome, mixLabel, picker } from './http-target.js';

export interface TimelinePoint {
  /** Second since the measured part began (the point covers [t, t + 1)). */
  t: number;
  ops: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ClientLoad {
  /** CPU time of the kvb process over wall time, % of one core. */
  cpuPercent: number;
  /** 99th percentile event-loop delay: high values mean the client itself was saturated. */
  eventLoopP99Ms: number;
}

export interface ScenarioResult {
  name: string;
  mix: Mix;
  mixLabel: string;
  concurrency: number;
  durationS: number;
  requests: number;
  errors: number;
  misses: number;
  throughput: number;
  latency: LatencySummary;
  byOp: Partial<Record<Op, LatencySummary>>;
  timeline: TimelinePoint[];
  distribution: DistributionPoint[];
  client: ClientLoad;
  interrupted: boolean;
}

export interface ClosedLoopSpec {
  name: string;
  mix: Mix;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}

export interface Progress {
  phase: string;
  elapsedMs: number;
  totalMs: number;
  requests: number;
  /** completions per second over the last tick */
  rate: number;
}

export async function runClosedLoop(target: HttpTarget, spec: ClosedLoopSpec, signal: AbortSignal, onProgress?: (p: Progress) => void): Promise<ScenarioResult> {
  const pick = picker(spec.mix);
  const all = new Latency();
  const perOp = new Map<Op, Latency>(OPS.filter((o) => spec.mix[o] > 0).map((o) => [o, new Latency()]));
  const second = new Latency();
  const timeline: TimelinePoint[] = [];
  let sec = 0;
  let secOps = 0;
  let secErrors = 0;
  let requests = 0;
  let errors = 0;
  let misses = 0;

  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const measureTo = measureFrom + spec.durationMs;
  let measuring = spec.warmupMs === 0;
  let cpu0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  if (measuring) loop.enable();

  const closeSecond = (): void => {
    timeline.push({ t: sec, ops: secOps, errors: secErrors, p50Ms: second.atPercentileMs(50), p99Ms: second.atPercentileMs(99) });
    second.reset();
    secOps = 0;
    secErrors = 0;
    sec++;
  };

  const record = (op: Op, outcome: Outcome, start: number, end: number): void => {
    if (!measuring) {
      if (end < measureFrom) return;
      measuring = true;
      cpu0 = process.cpuUsage();
      loop.enable();
    }
    if (start < measureFrom || end > measureTo) return; // only requests wholly inside the window
    while (end - measureFrom >= (sec + 1) * 1000) closeSecond();
    requests++;
    secOps++;
    if (outcome === 'error') {
      errors++;
      secErrors++;
      return;
    }
    if (outcome === 'miss') misses++;
    const ms = end - start;
    all.recordMs(ms);
    perOp.get(op)!.recordMs(ms);
    second.recordMs(ms);
  };

  let stopAt = measureTo;
  const worker = async (): Promise<void> => {
    while (!signal.aborted && performance.now() < stopAt) {
      const op = pick();
      const start = performance.now();
      const outcome = await target.run(op);
      record(op, outcome, start, performance.now());
    }
  };

  let lastReq = 0;
  let lastTick = t0;
  const ticker = onProgress
    ? setInterval(() => {
      const now = performance.now();
      const inWarmup = now < measureFrom;
      onProgress({
        phase: inWarmup ? `${spec.name} (warm-up)` : spec.name,
        elapsedMs: inWarmup ? now - t0 : now - measureFrom,
        totalMs: inWarmup ? spec.warmupMs : spec.durationMs,
        requests,
        rate: ((requests - lastReq) * 1000) / Math.max(1, now - lastTick),
      });
      lastReq = requests;
      lastTick = now;
    }, 250)
    : null;
  const onAbort = (): void => void (stopAt = performance.now());
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(Array.from({ length: spec.concurrency }, worker));
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (ticker) clearInterval(ticker);
  }
  const end = Math.min(performance.now(), measureTo);
  const measuredMs = Math.max(0, end - measureFrom);
  // The last, partial second counts only if it is at least half a second long.
  if (secOps > 0 && measuredMs - sec * 1000 >= 500) closeSecond();
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const durationS = measuredMs / 1000;
  return {
    name: spec.name,
    mix: spec.mix,
    mixLabel: mixLabel(spec.mix),
    concurrency: spec.concurrency,
    durationS: Number(durationS.toFixed(3)),
    requests,
    errors,
    misses,
    throughput: durationS > 0 ? Math.round(requests / durationS) : 0,
    latency: all.summary(),
    byOp: Object.fromEntries([...perOp].map(([o, h]) => [o, h.summary()])),
    timeline,
    distribution: all.distribution(),
    client: {
      cpuPercent: measuredMs > 0 ? Math.round(((cpu.user + cpu.system) / 1000 / measuredMs) * 1000) / 10 : 0,
      eventLoopP99Ms: loop.count > 0 ? Number((loop.percentile(99) / 1e6).toFixed(2)) : 0,
    },
    interrupted: signal.aborted,
  };
}

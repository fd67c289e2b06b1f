/**
 * Latency recording for kvb: an HDR histogram (hdr-histogram-js, 3 significant digits) in a
 * fixed integer unit, summarised in milliseconds.
 */
import hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface DistributionPoint {
  percentile: number;
  ms: number;
}

type Histogram = ReturnType<typeof hdr.build>;

/** Percentiles 0, …, 90, …, 99, …, 99.999 evenly spaced on the log scale of 1/(1 - p) — the usual HDR plot. */
export const PLOT_PERCENTILES: readonly number[] = Array.from({ length: 101 }, (_, i) => Number((100 * (1 - 10 ** (-i / 20))).toFixed(6)));

export class Latency {
  readonly #h: Histogram;
  /** Nanoseconds per recorded unit: 1000 records µs (HTTP), 1 records ns (embedded). */
  readonly #unitNs: number;

  constructor(unitNs = 1000) {
    this.#unitNs = unitNs;
    this.#h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: Math.round(3600e9 / unitNs), numberOfSignificantValueDigits: 3, autoResize: true });
  }

  /** Records a duration given in milliseconds (performance.now() differences). */
  recordMs(ms: number): void {
    this.#h.recordValue(Math.max(1, Math.round((ms * 1e6) / this.#unitNs)));
  }

  get count(): number {
    return this.#h.totalCount;
  }

  #ms(v: number): number {
    return Number(((v * this.#unitNs) / 1e6).toFixed(4));
  }

  /** HDR reports a bucket's highest equivalent value, which can lie above the exact maximum: clamp to it. */
  #at(p: number): number {
    return Math.min(this.#h.getValueAtPercentile(p), this.#h.maxValue);
  }

  atPercentileMs(p: number): number {
    return this.#ms(this.#at(p));
  }

  summary(): LatencySummary {
    const h = this.#h;
    if (h.totalCount === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    return {
      count: h.totalCount,
      meanMs: this.#ms(h.mean),
      p50Ms: this.#ms(this.#at(50)),
      p90Ms: this.#ms(this.#at(90)),
      p99Ms: this.#ms(this.#at(99)),
      p999Ms: this.#ms(this.#at(99.9)),
      maxMs: this.#ms(h.maxValue),
    };
  }

  distribution(): DistributionPoint[] {
    if (this.#h.totalCount === 0) return [];
    return [...PLOT_PERCENTILES.map((p) => ({ percentile: p, ms: this.atPercentileMs(p) })), { percentile: 100, ms: this.#ms(this.#h.maxValue) }];
  }

  reset(): void {
    this.#h.reset();
  }

  add(other: Latency): void {
    this.#h.add(other.#h);
  }
}

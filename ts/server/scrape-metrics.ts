/**
 * Metrics read at scrape time from a figure something else owns (the engine's stats, the
 * archiver's status, auth's counts), shared by every /metrics module.
 */
import client from 'prom-client';

/** A gauge whose value is `read()` at each scrape. */
export function scrapeGauge(r: client.Registry, name: string, help: string, read: () => number): void {
  new client.Gauge({ name, help, registers: [r], collect() { this.set(read()); } });
}

/**
 * A counter fed from a figure that only grows (a "since open" count): each scrape adds what it
 * grew by since the last one, so the series is a real Prometheus counter (rate() and resets
 * work) without prom-client owning the count.
 */
export function scrapeCounter(r: client.Registry, name: string, help: string, read: () => number): void {
  let last = 0;
  new client.Counter({
    name, help, registers: [r],
    collect() {
      const v = read();
      if (v > last) this.inc(v - last);
      last = v;
    },
  });
}

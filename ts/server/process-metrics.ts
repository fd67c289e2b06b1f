/**
 * prom-client's default process metrics (memory, CPU, event-loop lag, GC, handles) under a
 * prefix, minus its three `nodejs_active_{handles,requests,resources}_total` series: gauges
 * named like counters, which Prometheus tooling rejects (`promtool check metrics`). The
 * per-type gauges without `_total` carry the same figures. Used by kvstored and kvb.
 */
import client from 'prom-client';

export function collectProcessMetrics(registry: client.Registry, prefix: string): void {
  client.collectDefaultMetrics({ register: registry, prefix });
  for (const kind of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`${prefix}nodejs_active_${kind}_total`);
}

/**
 * Cluster metrics (docs/cluster.md, "Metrics"). The agent outlives each server instance
 * (main.ts reopens the store on a step-down), so the figures live here and every new
 * /metrics registry reads them at scrape time.
 */
import client from 'prom-client';

const RENEW_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const FAILOVER_BUCKETS = [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30];

export class ClusterCounters {
  leaderChanges = 0;
  fences = 0;
  switchovers = 0;
  readonly etcdErrors = new Map<string, number>();
  /** Observations not yet handed to a histogram (drained at scrape). */
  #renews: number[] = [];
  #failovers: number[] = [];

  etcdError(op: string): void {
    this.etcdErrors.set(op, (this.etcdErrors.get(op) ?? 0) + 1);
  }

  renewed(seconds: number): void {
    if (this.#renews.length < 10_000) this.#renews.push(seconds);
  }

  leaderChanged(failoverSeconds: number): void {
    this.leaderChanges++;
    this.#failovers.push(failoverSeconds);
  }

  /** Registers the families in r; role(): 1 when this node is the primary with a live lease. */
  register(r: client.Registry, isLeader: () => boolean, leaseTtlMs: () => number): void {
    const counters = this;
    new client.Gauge({ name: 'kvstore_cluster_leader', help: 'This node is the cluster primary holding a live lease (1) or not (0)', registers: [r], collect() { this.set(isLeader() ? 1 : 0); } });
    new client.Counter({ name: 'kvstore_cluster_leader_changes_total', help: 'Times this node took the leader key after a failover or switchover (since start)', registers: [r], collect() { this.reset(); this.inc(counters.leaderChanges); } });
    new client.Counter({ name: 'kvstore_cluster_fences_total', help: 'Times this node fenced itself: its lease was not renewed before the fence deadline', registers: [r], collect() { this.reset(); this.inc(counters.fences); } });
    new client.Counter({ name: 'kvstore_cluster_switchovers_total', help: 'Planned switchovers this node handed over', registers: [r], collect() { this.reset(); this.inc(counters.switchovers); } });
    new client.Counter({
      name: 'kvstore_cluster_etcd_errors_total', help: 'Failed etcd calls, by operation', labelNames: ['op'], registers: [r],
      collect() {
        this.reset();
        for (const [op, n] of counters.etcdErrors) this.inc({ op }, n);
      },
    });
    const renew = new client.Histogram({ name: 'kvstore_cluster_lease_renew_seconds', help: 'Round trip of successful lease keep-alives', buckets: RENEW_BUCKETS, registers: [r] });
    const failover = new client.Histogram({ name: 'kvstore_cluster_failover_seconds', help: 'From seeing the leader key gone to serving as the new primary, on the node that took over', buckets: FAILOVER_BUCKETS, registers: [r] });
    // Histograms keep their own state: feed them what arrived since the last scrape.
    const drain = (): void => {
      for (const s of counters.#renews.splice(0)) renew.observe(s);
      for (const s of counters.#failovers.splice(0)) failover.observe(s);
    };
    new client.Gauge({ name: 'kvstore_cluster_lease_ttl_seconds', help: 'The lease TTL etcd granted', registers: [r], collect() { drain(); this.set(leaseTtlMs() / 1000); } });
  }
}

/**
 * The cluster agent (Patroni's HA loop) of one kvstored in cluster mode. One per process; it
 * outlives the store instances main.ts opens and closes (a primary that steps down is closed
 * and reopened as a standby, as Patroni restarts PostgreSQL).
 *
 * Every tick (cluster_renew_interval_ms) it refreshes this node's member key and:
 *  - on a standby: follows whoever holds the leader key (re-pointing the WAL receiver when it
 *    changes); when the key is gone, tries to take it (election.ts decides who may), and if
 *    it wins promotes the store in place;
 *  - on the primary: checks it still holds the leader key and publishes the synchronous set.
 * Its lease (lease.ts) fences the primary: past the fence deadline every write fails FENCED
 * (the commit guard) and the agent steps down (main.ts reopens the store as a standby).
 */
import { KvError } from '../errors.js';
import type { ReplicationNode } from '../replication/node.js';
import type { Compare } from './etcd.js';
import { Etcd } from './etcd.js';
import { tryElect } from './election.js';
import { ClusterKeys, parseValue, type LeaderValue, type MemberValue, type SwitchoverValue } from './keys.js';
import { Lease } from './lease.js';
import { ClusterCounters } from './metrics.js';
import { buildStatus, type ClusterStatus } from './status.js';
import { SyncPublisher } from './sync-publisher.js';

export interface AgentOptions {
  cluster: string;
  prefix: string;
  etcd: readonly string[];
  nodeId: string;
  advertiseUrl: string;
  leaseTtlMs: number;
  renewIntervalMs: number;
  synchronousStandbys: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Why the primary stopped being one: main.ts reopens the store as a standby. */
export interface StepDown {
  reason: string;
}

export class ClusterAgent {
  readonly keys: ClusterKeys;
  readonly etcd: Etcd;
  readonly counters = new ClusterCounters();
  readonly #o: AgentOptions;
  #lease: Lease | null = null;
  #node: ReplicationNode | null = null;
  #timer: NodeJS.Timeout | null = null;
  #ticking = false;
  #closed = false;
  /** The leader as last read from etcd. */
  #leader: LeaderValue | null = null;
  /** This node holds the leader key (on the lease #lease). */
  #holdsLeader = false;
  /** A switchover is handing over: acknowledge nothing more. */
  #handingOver = false;
  #publisher: SyncPublisher | null = null;
  #leaderGoneSince = 0;
  #stepDown: ((s: StepDown) => void) | null = null;
  #lastErrorLog = 0;

  constructor(o: AgentOptions) {
    this.#o = o;
    this.keys = new ClusterKeys(o.prefix, o.cluster);
    this.etcd = new Etcd({ endpoints: o.etcd, callTimeoutMs: Math.max(200, Math.min(2000, o.renewIntervalMs * 2)), onError: (op) => this.counters.etcdError(op) });
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  get options(): Readonly<AgentOptions> {
    return this.#o;
  }

  /** This node is the primary, holds the leader key and its lease is live: it may acknowledge writes. */
  canAcknowledge(): boolean {
    return this.#holdsLeader && !this.#handingOver && this.#node?.role === 'primary' && (this.#lease?.live() ?? false);
  }

  /** The commit guard ReplicationNode calls before every acknowledgement (ReplicationConfig.commitGuard). */
  readonly commitGuard = (): void => {
    if (this.canAcknowledge()) return;
    throw new KvError('FENCED', this.#handingOver
      ? 'this primary is handing over to another node (switchover): the write was not acknowledged'
      : 'this node does not hold a live leadership lease: the write was not acknowledged');
  };

  /** The current primary's URL as last read (this node's own when it is the primary). */
  leader(): LeaderValue | null {
    return this.#holdsLeader ? { ...(this.#leader ?? this.#leaderValue()), nodeId: this.#o.nodeId, url: this.#o.advertiseUrl } : this.#leader;
  }

  get leaseTtlMs(): number {
    return this.#lease?.ttlMs ?? this.#o.leaseTtlMs;
  }

  /** Connects and takes a lease (retrying until etcd answers; bounded only by the caller's signal). */
  async ensureLease(): Promise<Lease> {
    if (this.#lease && !this.#lease.fenced) return this.#lease;
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new KvError('CLOSED', 'the cluster agent is closed');
      try {
        // A first call opens the connection, so the grant below (whose send time starts the
        // fence clock) is not charged with connecting.
        if (this.#lease === null) await this.etcd.get(this.keys.leader);
        const lease = await Lease.grant(this.etcd, {
          ttlMs: this.#o.leaseTtlMs, renewIntervalMs: this.#o.renewIntervalMs,
          onFence: (why) => this.#fenced(why),
          onRenew: (s) => this.counters.renewed(s),
        });
        this.#lease = lease;
        return lease;
      } catch (err) {
        this.#errorLog(`cluster: cannot take a lease from etcd (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
  }

  /**
   * Start of a fresh cluster: with no leader and nothing else initialized, take the leader key
   * and the initialize marker in one transaction. True: this node bootstraps the cluster as
   * its first primary (on a new, empty directory).
   */
  async bootstrap(): Promise<boolean> {
    const lease = await this.ensureLease();
    const init = `${this.keys.root}initialize`;
    const ok = await this.etcd.txn([{ key: this.keys.leader, absent: true }, { key: init, absent: true }], [
      { put: init, value: JSON.stringify({ nodeId: this.#o.nodeId, timeMs: Date.now() }) },
      { put: this.keys.leader, value: JSON.stringify(this.#leaderValue()), lease: lease.id },
    ]);
    if (ok) {
      this.#holdsLeader = true;
      this.#o.log('warn', `cluster ${this.#o.cluster}: bootstrapped it; this node (${this.#o.nodeId}) is its first primary`);
    }
    return ok;
  }

  /** The leader now (a fresh read), for main.ts to pick the role of a new instance. */
  async readLeader(): Promise<LeaderValue | null> {
    const kv = await this.etcd.get(this.keys.leader);
    this.#leader = parseValue<LeaderValue>(kv?.value);
    return this.#leader;
  }

  /**
   * Runs the HA loop for this store instance until it steps down (resolves with why) or the
   * agent is detached. `node` is a primary only right after bootstrap().
   */
  attach(node: ReplicationNode): Promise<StepDown> {
    this.#node = node;
    this.#handingOver = false;
    if (node.role === 'primary') this.#startPrimary();
    const stepped = new Promise<StepDown>((resolve) => (this.#stepDown = resolve));
    const loop = (): void => {
      this.#timer = setTimeout(() => {
        void this.#tick().finally(() => {
          if (!this.#closed && this.#node === node) loop();
        });
      }, this.#o.renewIntervalMs);
    };
    void this.#tick().finally(loop);
    return stepped;
  }

  /** Stops the loop for this instance (main.ts closes it next). */
  detach(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#node = null;
    this.#publisher = null;
    this.#stepDown = null;
  }

  #leaderValue(): LeaderValue {
    const s = this.#node?.status();
    return { nodeId: this.#o.nodeId, url: this.#o.advertiseUrl, timeline: s?.timeline ?? null, systemId: s?.systemId ?? null, sinceMs: Date.now() };
  }

  /** Comparisons that hold only while this node's lease holds the leader key. */
  leaderGuard(): Compare[] {
    return [{ key: this.keys.leader, lease: this.#lease?.id ?? '0' }];
  }

  #startPrimary(): void {
    const node = this.#node!;
    this.#publisher = this.#o.synchronousStandbys > 0
      ? new SyncPublisher(this.etcd, this.keys, this.#o.nodeId, node.quorum, node.store._replication().positions().flushedLsn, () => this.leaderGuard())
      : null;
  }

  #fenced(why: string): void {
    const wasPrimary = this.#holdsLeader;
    this.#holdsLeader = false;
    this.counters.fences++;
    if (wasPrimary) {
      this.#o.log('error', `cluster: FENCED: ${why}; acknowledging no more writes and stepping down`);
      this.#node?.quorum.failAll(new KvError('FENCED', 'this primary could not renew its leadership lease in time: the write was not acknowledged'));
      this.#stepDown?.({ reason: `fenced: ${why}` });
    } else {
      this.#o.log('warn', `cluster: member lease lost (${why}); taking a new one`);
    }
  }

  /** Steps down now (lost the key, switchover): no more acknowledgements, then main.ts reopens as a standby. */
  #resign(reason: string): void {
    this.#holdsLeader = false;
    this.#node?.quorum.failAll(new KvError('FENCED', `this node stopped being the primary (${reason}): the write was not acknowledged`));
    this.#o.log('warn', `cluster: stepping down: ${reason}`);
    this.#stepDown?.({ reason });
  }

  #errorLog(message: string): void {
    if (Date.now() - this.#lastErrorLog < 5000) return;
    this.#lastErrorLog = Date.now();
    this.#o.log('warn', message);
  }

  async #tick(): Promise<void> {
    const node = this.#node;
    if (this.#ticking || this.#closed || !node) return;
    this.#ticking = true;
    try {
      const lease = await this.ensureLease();
      if (this.#node !== node) return;
      const { kvs } = await this.etcd.list(this.keys.root);
      const get = (k: string): string | undefined => kvs.find((x) => x.key === k)?.value;
      const leaderKv = kvs.find((x) => x.key === this.keys.leader);
      const leader = parseValue<LeaderValue>(leaderKv?.value);
      const removed = kvs.some((x) => x.key === `${this.keys.root}removed/${this.#o.nodeId}`);
      if (!removed) await this.#register(node, lease.id);
      if (node.role === 'primary') {
        if (!this.#holdsLeader) return; // stepping down
        if (!leaderKv || leaderKv.lease !== lease.id) return this.#resign('the leader key is no longer held by this node\'s lease');
        const mine = this.#leaderValue();
        if (leader?.timeline !== mine.timeline || leader?.systemId !== mine.systemId) {
          await this.etcd.txn(this.leaderGuard(), [{ put: this.keys.leader, value: JSON.stringify({ ...mine, sinceMs: leader?.sinceMs ?? mine.sinceMs }), lease: lease.id }]);
        }
        this.#leader = leader;
        const members = new Set(kvs.filter((x) => x.key.startsWith(this.keys.members)).map((x) => x.key.slice(this.keys.members.length)));
        if (this.#publisher) await this.#publisher.tick(members);
        // An asynchronous primary leaves no synchronous set behind to restrict the next election.
        else if (kvs.some((x) => x.key === this.keys.sync)) await this.etcd.txn(this.leaderGuard(), [{ del: this.keys.sync }]);
        return;
      }
      this.#leader = leader;
      if (leader && leaderKv) {
        this.#leaderGoneSince = 0;
        // A new leader, or the same one on a new timeline (ReplicationNode.followLeader).
        if (leader.nodeId !== this.#o.nodeId && await node.followLeader(leader.url, leader.timeline)) {
          this.#o.log('info', `cluster: following ${leader.nodeId} at ${leader.url} (timeline ${leader.timeline})`);
        }
        return;
      }
      if (this.#leaderGoneSince === 0) this.#leaderGoneSince = Date.now();
      if (removed || !lease.live()) return;
      const won = await tryElect({
        etcd: this.etcd, keys: this.keys, nodeId: this.#o.nodeId, lease: lease.id, node, kvs,
        leaderGoneSince: this.#leaderGoneSince, asyncWaitMs: Math.max(1000, 4 * this.#o.renewIntervalMs),
        switchover: parseValue<SwitchoverValue>(get(this.keys.switchover)), value: this.#leaderValue(),
      });
      if (!won) return;
      await this.#takeOver(node, lease);
    } catch (err) {
      this.#errorLog(`cluster: ${(err as KvError).code ?? 'ERROR'}: ${(err as Error).message}`);
    } finally {
      this.#ticking = false;
    }
  }

  async #takeOver(node: ReplicationNode, lease: Lease): Promise<void> {
    const t0 = this.#leaderGoneSince || Date.now();
    this.#holdsLeader = true;
    // No standby's acknowledgement counts until this node has published its own set
    // (sync-publisher.ts); the quorum would otherwise count any standby that connects first.
    if (this.#o.synchronousStandbys > 0) node.quorum.setEligible([]);
    try {
      await node.promote();
    } catch (err) {
      this.#holdsLeader = false;
      await this.etcd.txn(this.leaderGuard(), [{ del: this.keys.leader }]).catch(() => false);
      // The store may be half-promoted: reopen it as a standby (main.ts) rather than retry on it.
      this.#stepDown?.({ reason: `the promotion failed: ${(err as Error).message}` });
      throw err;
    }
    this.#startPrimary();
    await this.etcd.txn([{ key: this.keys.leader, lease: lease.id }], [
      { put: this.keys.leader, value: JSON.stringify(this.#leaderValue()), lease: lease.id },
      { del: this.keys.switchover },
    ]);
    this.#leaderGoneSince = 0;
    this.counters.leaderChanged((Date.now() - t0) / 1000);
    this.#o.log('warn', `cluster: this node (${this.#o.nodeId}) is the primary now (took the leader key ${Date.now() - t0} ms after it was seen gone)`);
  }

  async #register(node: ReplicationNode, lease: string): Promise<void> {
    const s = node.status();
    const value: MemberValue = {
      nodeId: this.#o.nodeId, url: this.#o.advertiseUrl, role: node.role, timeline: s.timeline, systemId: s.systemId,
      appliedLsn: s.appliedLsn, flushedLsn: s.flushedLsn, connected: node.role === 'primary' || (s.receiver?.connected ?? false), updatedMs: Date.now(),
    };
    // Only while this node is not removed: a `cluster remove` landing between this tick's read
    // and this write would otherwise see its member key put back.
    await this.etcd.txn([{ key: `${this.keys.root}removed/${this.#o.nodeId}`, absent: true }], [
      { put: this.keys.member(this.#o.nodeId), value: JSON.stringify(value), lease },
    ]);
  }

  /** GET /v1/cluster. */
  async status(): Promise<ClusterStatus> {
    const { kvs } = await this.etcd.list(this.keys.root);
    return buildStatus(this.keys, this.#o.nodeId, kvs, this.leaseTtlMs);
  }

  /**
   * Planned switchover to `to` with zero loss: stop acknowledging, wait until `to` has
   * flushed everything this node has, then in one transaction (conditioned on still holding
   * the leader key) delete the leader key, name `to` in the switchover key (only it may take
   * over for a while) and, with synchronous standbys, make {to} the synchronous set; then
   * step down. Refused unless this node is the primary and `to` streams from it.
   */
  async switchover(to: string, timeoutMs = 10_000): Promise<{ from: string; to: string; lsn: string }> {
    const node = this.#node;
    if (!node || node.role !== 'primary' || !this.#holdsLeader) throw new KvError('NOT_PRIMARY', `switchover is run by the primary (${this.#leader?.nodeId ?? 'unknown'}), not by ${this.#o.nodeId}`);
    if (to === this.#o.nodeId) throw new KvError('INVALID_ARGUMENT', `${to} is the primary already`);
    const member = await this.etcd.get(this.keys.member(to));
    if (!member) throw new KvError('NOT_FOUND', `no member ${JSON.stringify(to)} is registered in cluster ${this.#o.cluster}`);
    if (!node.registry.list().some((s) => s.id === to)) throw new KvError('INVALID_ARGUMENT', `${to} is not streaming from this primary`);
    this.#handingOver = true;
    try {
      // Writes in flight reach the WAL before the guard refuses them: let them land, then take the end.
      await new Promise((r) => setTimeout(r, 20));
      const lsn = node.store._replication().positions().flushedLsn;
      const t0 = Date.now();
      for (;;) {
        const s = node.registry.list().find((x) => x.id === to);
        if (s && s.flushedLsn >= lsn) break;
        if (Date.now() - t0 > timeoutMs) throw new KvError('UNAVAILABLE', `${to} did not catch up to LSN ${lsn} within ${timeoutMs} ms; switchover abandoned, this node stays the primary`);
        if (!this.#holdsLeader) throw new KvError('FENCED', 'this node lost the leader key during the switchover');
        await new Promise((r) => setTimeout(r, 10));
      }
      const sw: SwitchoverValue = { from: this.#o.nodeId, to, untilMs: Date.now() + Math.max(5000, 5 * this.leaseTtlMs) };
      const ops = [
        { put: this.keys.switchover, value: JSON.stringify(sw) },
        { del: this.keys.leader },
        ...(this.#o.synchronousStandbys > 0 ? [{ put: this.keys.sync, value: JSON.stringify({ leader: this.#o.nodeId, members: [to] }) }] : []),
      ];
      if (!(await this.etcd.txn(this.leaderGuard(), ops))) throw new KvError('FENCED', 'this node lost the leader key during the switchover');
      this.counters.switchovers++;
      this.#resign(`switchover to ${to} at LSN ${lsn}`);
      return { from: this.#o.nodeId, to, lsn: lsn.toString() };
    } catch (err) {
      if (this.#holdsLeader) this.#handingOver = false;
      throw err;
    }
  }

  /** `kvctl cluster remove ID`: its member key goes, and it may no longer register or take over. */
  async remove(id: string): Promise<{ removed: string }> {
    const leader = await this.etcd.get(this.keys.leader);
    if (parseValue<LeaderValue>(leader?.value)?.nodeId === id) throw new KvError('INVALID_ARGUMENT', `${id} is the primary: switch over to another node first`);
    const member = await this.etcd.get(this.keys.member(id));
    if (!member) throw new KvError('NOT_FOUND', `no member ${JSON.stringify(id)} is registered in cluster ${this.#o.cluster}`);
    await this.etcd.txn([], [{ put: `${this.keys.root}removed/${id}`, value: JSON.stringify({ timeMs: Date.now() }) }, { del: this.keys.member(id) }]);
    return { removed: id };
  }

  /** Leadership confirmed against etcd now (ClusterView.confirmLeadership). */
  async confirmLeadership(): Promise<void> {
    if (!this.canAcknowledge()) throw new KvError('NOT_PRIMARY', 'this node is not the primary with a live lease');
    const kv = await this.etcd.get(this.keys.leader);
    if (!kv || kv.lease !== this.#lease?.id || !this.canAcknowledge()) throw new KvError('NOT_PRIMARY', 'this node no longer holds the leader key');
  }

  /** Shutting down: stop renewing and revoke the lease (its keys go at once: a fast failover). */
  async close(): Promise<void> {
    this.#closed = true;
    this.detach();
    this.#holdsLeader = false;
    await this.#lease?.stop(true);
    this.etcd.close();
  }
}

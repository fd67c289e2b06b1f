/**
 * One node's replication role, for kvstored and the embedded read replica: a primary
 * (serves the stream, keeps the standby registry, gates commits on the synchronous quorum)
 * or a standby (runs the WAL receiver), and the promotion from one to the other.
 *
 * Role transitions: standby → primary only, by promote(); a primary never demotes itself
 * here (it is restarted with --replica-of to follow another; the failover issue automates
 * that). Every transition is logged in one line with its reason.
 */
import { KvError } from '../errors.js';
import { KEYS } from '../catalog/schema.js';
import { systemView, type ReplicaHandle, type ReplicationInfo, type Store } from '../store/store.js';
import { readHistory, writeHistory } from './history-file.js';
import { StandbyRegistry, type StandbyInfo } from './standbys.js';
import { SyncQuorum } from './sync-quorum.js';
import { currentTimeline, historyToJson, initialHistory, promote, type History } from './timeline.js';
import { WalReceiver, type ReceiverStatus, type ReceiverTls } from './wal-receiver.js';

export interface ReplicationConfig {
  /** Follow this primary (a standby); undefined = this node is a primary (unless standby). */
  replicaOf?: string | undefined;
  /** Cluster mode: a standby whose primary is not known yet (follow() names it later). */
  standby?: boolean | undefined;
  standbyId: string;
  apiKey?: string | undefined;
  tls?: ReceiverTls | undefined;
  synchronousStandbys: number;
  synchronousTimeoutMs: number;
  /**
   * Cluster mode: called before a primary acknowledges each write (after it is durable here
   * and, with synchronous standbys, confirmed by them); throws (FENCED) when this node may no
   * longer acknowledge: its leadership lease could not be renewed in time (ts/cluster/).
   */
  commitGuard?: (() => void) | undefined;
  /**
   * An embedded replica of a cluster: called before every connection to a primary; throws
   * unless that URL is the cluster's leader now (cluster-follower.ts), so a stale ex-primary
   * never feeds this node.
   */
  confirmPrimary?: ((url: string, signal: AbortSignal) => Promise<void>) | undefined;
}

export interface ReplicationStatus {
  role: 'primary' | 'standby';
  systemId: string | null;
  timeline: string | null;
  /** Every timeline this node has been on, oldest first (timeline.ts); [] before the first. */
  history: Array<{ id: string; parent: string | null; switchLsn: string; timeMs: number }>;
  nextLsn: string;
  flushedLsn: string;
  appliedLsn: string;
  synchronousStandbys: number;
  syncSet: string[];
  /** lagLsn: this node's flushed LSN minus the standby's applied one; synchronous: in the sync set. */
  standbys: Array<Omit<StandbyInfo, 'sentLsn' | 'flushedLsn' | 'appliedLsn'> & { sentLsn: string; flushedLsn: string; appliedLsn: string; lagLsn: string; synchronous: boolean }>;
  /** A standby's receiver; lagLsn: the primary's LSN as last heard minus the applied one. */
  receiver: (Omit<ReceiverStatus, 'primaryLsn' | 'appliedLsn'> & { primaryLsn: string; appliedLsn: string; lagLsn: string }) | null;
}

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export class ReplicationNode {
  readonly store: Store<unknown, unknown>;
  readonly #config: ReplicationConfig;
  readonly #log: Log;
  readonly registry: StandbyRegistry;
  readonly quorum: SyncQuorum;
  #history: History | null;
  #receiver: WalReceiver | null = null;
  #role: 'primary' | 'standby';
  #promoting: Promise<void> | null = null;
  /** Client writes wait for the synchronous standbys (armCommitGate was called). */
  #gateArmed = false;
  /** The primary a standby follows (replicaOf, then whatever follow() points it at). */
  #primaryUrl: string | undefined;
  /** The leader URL and timeline followLeader() last pointed the receiver at. */
  #followedLeader = '';

  constructor(store: Store<unknown, unknown>, config: ReplicationConfig, log: Log) {
    this.store = store;
    this.#config = config;
    this.#log = log;
    this.quorum = new SyncQuorum(config.synchronousStandbys, config.synchronousTimeoutMs);
    this.registry = new StandbyRegistry(this.quorum);
    this.#history = readHistory(store._replication().dir);
    this.#role = config.replicaOf === undefined && config.standby !== true ? 'primary' : 'standby';
    this.#primaryUrl = config.replicaOf;
  }

  get role(): 'primary' | 'standby' {
    return this.#role;
  }

  /** The history (a primary creates its first one on start). */
  history(): History {
    if (!this.#history) throw new KvError('NOT_READY', 'this node has no replication history yet');
    return this.#history;
  }

  start(): void {
    if (this.#role === 'primary') {
      this.#becomePrimary();
      return;
    }
    if (this.#primaryUrl !== undefined) this.#startReceiver();
  }

  /**
   * A standby: follow another primary from now on (cluster mode: the leader key changed).
   * The running receiver stops after its current frame; the new one's HELLO decides whether
   * to stream on, rewind or re-bootstrap (planFollow), as at a start.
   */
  async follow(url: string, restart = false): Promise<void> {
    if (this.#role !== 'standby') throw new KvError('NOT_STANDBY', 'a primary follows no one');
    if (url === this.#primaryUrl && this.#receiver && !restart) return;
    const old = this.#receiver;
    this.#receiver = null;
    await old?.stop();
    this.#primaryUrl = url;
    if (this.#role === 'standby' && this.#promoting === null) this.#startReceiver();
  }

  /**
   * Cluster mode (the agent's standbys, and an embedded replica of a cluster): follow the
   * leader at `url`, published on `timeline`. Re-points the receiver when the leader changed,
   * and restarts it when the same leader shows a new timeline (it publishes the leader key
   * before its promotion has finished, and the receiver may be backing off from its "I am a
   * standby"). The new session's HELLO streams on, rewinds or re-bootstraps (follow()).
   * False when there was nothing to do.
   */
  async followLeader(url: string, timeline: string | null): Promise<boolean> {
    const followed = `${url} ${timeline}`;
    if (this.primaryUrl === url && this.#followedLeader === followed) return false;
    await this.follow(url, this.primaryUrl === url);
    this.#followedLeader = followed;
    return true;
  }

  /** The primary this standby follows (undefined on a primary). */
  get primaryUrl(): string | undefined {
    return this.#role === 'standby' ? this.#primaryUrl : undefined;
  }

  #startReceiver(): void {
    this.#receiver = new WalReceiver({
      primaryUrl: this.#primaryUrl!,
      standbyId: this.#config.standbyId,
      apiKey: this.#config.apiKey,
      tls: this.#config.tls,
      confirmPrimary: this.#config.confirmPrimary,
      log: this.#log,
      host: {
        port: () => this.store._replication(),
        reset: async (fn) => {
          await this.store._reset(fn);
          this.#history = readHistory(this.store._replication().dir);
        },
        // Following a primary onto its newer timeline (no rewind needed): status() and a later
        // promote() must build on that history, not on the one this node started with.
        historyWritten: (h) => void (this.#history = h),
      },
    });
    this.#receiver.start();
  }

  #becomePrimary(): void {
    const port = this.store._replication();
    if (this.#history === null) {
      this.#history = initialHistory(Date.now());
      writeHistory(port.dir, this.#history);
      this.#log('info', `replication: new system ${this.#history.systemId}, timeline ${this.#history.entries[0]!.id}`);
    }
    const guard = this.#config.commitGuard;
    if (!this.#gateArmed) return;
    if (guard) {
      this.store._setCommitGate(async (lsn) => {
        guard();
        if (this.#config.synchronousStandbys > 0) await this.quorum.wait(lsn);
        guard();
      });
    } else if (this.#config.synchronousStandbys > 0) {
      this.store._setCommitGate((lsn) => this.quorum.wait(lsn));
    }
  }

  /**
   * From now on, on a primary with synchronous standbys, every write is acknowledged only
   * once they confirmed it (and so after a promotion too). kvstored calls this after its own
   * start-up writes (the first admin, catalog upgrades) and before it listens: no standby can
   * connect before the server listens, so gating those writes would wait for ever (and the
   * quorum's timer does not keep a process alive: kvstored exited 0 without a word). They
   * are not acknowledged to any client, and reach the standbys like every other record.
   */
  armCommitGate(): void {
    this.#gateArmed = true;
    if (this.#role === 'primary') this.#becomePrimary();
  }

  /**
   * Standby → primary on a new timeline: stop receiving, wait for everything received to be
   * applied, write the new history, then the TIMELINE record at the switch point. Idempotent
   * while running; NOT_STANDBY (409, as the engine's promote) on a primary.
   */
  promote(): Promise<void> {
    if (this.#role === 'primary') return Promise.reject(new KvError('NOT_STANDBY', 'this node is already a primary'));
    this.#promoting ??= (async () => {
      await this.#receiver?.stop();
      this.#receiver = null;
      const port = this.store._replication();
      const base = this.#history ?? readHistory(port.dir) ?? initialHistory(Date.now());
      const switchLsn = port.positions().nextLsn;
      const next = promote(base, switchLsn, Date.now());
      writeHistory(port.dir, next);
      const tl = next.entries.at(-1)!;
      await this.store._promote(tl.id, tl.parent ?? '', switchLsn);
      this.#history = next;
      this.#role = 'primary';
      this.#becomePrimary();
      this.#log('warn', `replication: promoted to primary on timeline ${tl.id} (from ${tl.parent}) at LSN ${switchLsn}`);
    })().finally(() => (this.#promoting = null));
    return this.#promoting;
  }

  /** This node's timeline: that of its last record (status().timeline, without the rest). */
  timeline(): string | null {
    const h = this.#history;
    return h ? currentTimeline(h, this.store._replication().positions().nextLsn - 1n) : null;
  }

  status(): ReplicationStatus {
    const port = this.store._replication();
    const pos = port.positions();
    const h = this.#history;
    const r = this.#receiver?.status() ?? null;
    const syncSet = this.quorum.syncSet();
    return {
      role: this.#role,
      systemId: h?.systemId ?? null,
      timeline: h ? currentTimeline(h, pos.nextLsn - 1n) : null,
      history: h ? historyToJson(h).entries : [],
      nextLsn: pos.nextLsn.toString(),
      flushedLsn: pos.flushedLsn.toString(),
      appliedLsn: pos.appliedLsn.toString(),
      synchronousStandbys: this.#config.synchronousStandbys,
      syncSet,
      standbys: this.registry.list().map((s) => ({
        ...s, sentLsn: s.sentLsn.toString(), flushedLsn: s.flushedLsn.toString(), appliedLsn: s.appliedLsn.toString(),
        lagLsn: (pos.flushedLsn > s.appliedLsn ? pos.flushedLsn - s.appliedLsn : 0n).toString(), synchronous: syncSet.includes(s.id),
      })),
      receiver: r ? {
        ...r, primaryLsn: r.primaryLsn.toString(), appliedLsn: r.appliedLsn.toString(),
        lagLsn: (r.primaryLsn > r.appliedLsn ? r.primaryLsn - r.appliedLsn : 0n).toString(),
      } : null,
    };
  }

  receiverStatus(): ReceiverStatus | null {
    return this.#receiver?.status() ?? null;
  }

  /** Fired after every applied frame on a standby. */
  onProgress(fn: () => void): () => void {
    return this.#receiver?.onProgress(fn) ?? (() => {});
  }

  async stop(): Promise<void> {
    await this.#receiver?.stop();
    this.#receiver = null;
    this.quorum.failAll(new KvError('CLOSED', 'the server is shutting down'));
  }
}

/** What picks the primary for a node (cluster-follower.ts): its last failure, and its stop. */
export interface UpstreamPicker {
  lastError(): { code: string; message: string } | null;
  stop(): Promise<void>;
}

/**
 * The store-facing handle of a node: store.replication() and close() go through it. With a
 * picker (a replica of a cluster), its failure to find the leader is the one lastError shows.
 */
export function replicaHandle(node: ReplicationNode, store: Store<unknown, unknown>, picker?: UpstreamPicker): ReplicaHandle {
  return {
    info: (): ReplicationInfo => {
      const r = node.receiverStatus();
      const p = store._replication().positions();
      return {
        role: node.role, connected: r?.connected ?? false, primaryUrl: node.primaryUrl ?? null, primaryLsn: r?.primaryLsn ?? p.flushedLsn, appliedLsn: p.appliedLsn,
        lagMs: r?.lagMs ?? 0, lastError: picker?.lastError() ?? r?.lastError ?? null,
      };
    },
    stop: async () => {
      await picker?.stop();
      await node.stop();
    },
  };
}

/**
 * Resolves once the system catalog is in the store: at once on a primary or a standby that
 * has synced before; a new standby waits for its first base backup or WAL from the primary.
 * Says every 5 s what it waits for.
 */
export async function catalogArrived(store: Store<unknown, unknown>, node: ReplicationNode, say: (message: string) => void): Promise<void> {
  const has = (): boolean => {
    try {
      return systemView(store).get(KEYS.version) !== undefined;
    } catch {
      return false; // the engine is being reset (base backup): ask again
    }
  };
  let last = Date.now();
  while (!has()) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 200);
      const off = node.onProgress(() => {
        clearTimeout(t);
        off();
        resolve();
      });
    });
    if (Date.now() - last >= 5000) {
      last = Date.now();
      const r = node.receiverStatus();
      say(`standby: waiting for the system catalog from ${r?.primaryUrl ?? 'the primary'} (${r?.connected ? 'connected' : `not connected${r?.lastError ? `: ${r.lastError.code}: ${r.lastError.message}` : ''}`})`);
    }
  }
}

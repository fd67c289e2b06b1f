/**
 * Patroni's synchronous-mode rule, on the primary: the set of standbys whose acknowledgements
 * count is published in etcd (`sync`) BEFORE any of them counts.
 *
 * Invariant: every write this primary acknowledged is flushed on every member of the set in
 * etcd (so any of them may take over without loss). It holds because
 *  - the quorum counts only members of the published set (SyncQuorum.setEligible), and the
 *    set has exactly `required` members, so an acknowledged write is on all of them;
 *  - a standby joins the set only when it has flushed everything acknowledged so far (its
 *    flushed LSN >= the quorum's confirmed LSN, and >= this primary's LSN when it took over);
 *  - while the set changes, only members of both the old and the new set count (with exactly
 *    `required` members that is fewer than required: nothing new is confirmed until etcd has
 *    the new set);
 *  - a member is replaced only by a connected candidate; a disconnected member stays in the
 *    set (it has every acknowledged write; nothing is confirmed without it meanwhile).
 * The write is a transaction conditioned on this node's lease still holding the leader key,
 * so a deposed primary cannot overwrite its successor's set.
 */
import { KvError } from '../errors.js';
import type { SyncQuorum } from '../replication/sync-quorum.js';
import type { Compare, Etcd } from './etcd.js';
import type { ClusterKeys, SyncValue } from './keys.js';

export class SyncPublisher {
  #published: string[] | null = null;
  #busy = false;

  constructor(
    private readonly etcd: Etcd,
    private readonly keys: ClusterKeys,
    private readonly nodeId: string,
    private readonly quorum: SyncQuorum,
    /** LSN every new member must have flushed besides the confirmed one: this primary's flushed LSN when it took over. */
    private readonly floorLsn: bigint,
    /** Comparisons proving this node holds the leader key (its lease). */
    private readonly leaderGuard: () => Compare[],
  ) {
    // Nothing counts until a set is published.
    quorum.setEligible([]);
  }

  /** The set as this primary last published it (null: not yet). */
  get published(): readonly string[] | null {
    return this.#published;
  }

  /**
   * Publishes a new set if a better one exists; `members`: node ids registered in the cluster
   * (a removed or unregistered standby never joins the set).
   */
  async tick(members: ReadonlySet<string>): Promise<void> {
    if (this.#busy) return;
    const required = this.quorum.required;
    const reported = this.quorum.reported();
    const current = this.#published ?? [];
    const threshold = this.quorum.confirmedLsn > this.floorLsn ? this.quorum.confirmedLsn : this.floorLsn;
    const connected = current.filter((id) => reported.has(id));
    const candidates = [...reported.entries()]
      .filter(([id, lsn]) => !current.includes(id) && members.has(id) && id !== this.nodeId && lsn >= threshold)
      .sort((a, b) => (a[1] === b[1] ? a[0].localeCompare(b[0]) : a[1] > b[1] ? -1 : 1))
      .map(([id]) => id);
    const gone = current.filter((id) => !reported.has(id));
    const desired = [...connected, ...candidates, ...gone].slice(0, required);
    if (this.#published !== null && desired.length === current.length && desired.every((id) => current.includes(id))) return;
    this.#busy = true;
    try {
      this.quorum.setEligible(current.filter((id) => desired.includes(id)));
      const value: SyncValue = { leader: this.nodeId, members: desired };
      const ok = await this.etcd.txn(this.leaderGuard(), [{ put: this.keys.sync, value: JSON.stringify(value) }]);
      if (!ok) throw new KvError('FENCED', 'this node no longer holds the leader key: the synchronous set was not published');
      this.#published = desired;
      this.quorum.setEligible(desired);
    } finally {
      this.#busy = false;
    }
  }
}

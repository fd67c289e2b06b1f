// The storage engine: a sharded in-memory table made durable by a write-ahead log
// (group-committed by a flusher thread), fuzzy checkpoints and crash recovery. Format:
// wal_format.h and docs/on-disk-format.md. Behaviour: ts/engine/types.ts (the binding
// maps each JS method to one method here).
//
// Thread-safety: every public method may be called from any thread. Reads take one
// shard's shared lock (scans and counts take all of them, in index order). Writes are
// serialised by write_mu_, which is always taken before any shard lock.
//
// Roles (issue 14, docs/replication.md): a primary takes client writes; a standby refuses
// them (ReadOnly) and takes records streamed from a primary through AppendReplicated,
// which writes them at the same LSNs through the same flusher and applies them through
// ApplyRecord, like recovery. Promote() turns a standby into a primary.
#ifndef KVSTORE_CORE_ENGINE_H_
#define KVSTORE_CORE_ENGINE_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dir_lock.h"
#include "file_util.h"
#include "shard_table.h"
#include "status.h"
#include "wal_reader.h"
#include "wal_writer.h"

namespace kvstore {

enum class Durability { kAlways = 0, kInterval = 1, kNone = 2 };
enum class Role { kPrimary = 0, kStandby = 1 };

struct EngineOptions {
  std::string dir;
  uint32_t shards = 64;  // power of two, 1..4096
  Durability durability = Durability::kAlways;
  uint32_t interval_ms = 100;
  uint64_t wal_segment_bytes = 64ull << 20;
  uint64_t checkpoint_wal_bytes = 0;  // 0 = no automatic checkpoints
  bool truncate_corrupt_tail = false;
  // `always`: writes do not wake the flusher; the caller calls Kick() once it has
  // submitted what it has (the binding does so once per JS turn), so that everything a
  // turn submits joins one group commit instead of the first record of it riding alone.
  bool defer_flusher_wake = false;
  // Not stored on disk: the opener says what the directory is this time.
  Role role = Role::kPrimary;
};

// Where the log stands. Invariant: applied <= flushed or durability is not `always`
// (interval/none apply local writes at submit); flushed <= durable <= next - 1.
struct WalPositions {
  uint64_t next_lsn = 0;     // the LSN the next record gets
  uint64_t durable_lsn = 0;  // as the durability policy defines it (the store acks on it)
  uint64_t flushed_lsn = 0;  // every record <= it is fdatasynced: what ReadWal may return
  uint64_t applied_lsn = 0;  // every record <= it is visible to readers
};

// Records read from the WAL: whole records, byte for byte as on disk.
struct WalChunk {
  std::string records;
  uint64_t first_lsn = 0;  // LSN of the first record (the LSN asked for)
  uint64_t last_lsn = 0;   // LSN of the last record; first_lsn - 1 when empty
};

// Histogram bounds (inclusive upper bounds; one more bucket for everything above), the same
// as FSYNC_BOUNDS_MICROS and GROUP_BOUNDS in ts/engine/types.ts.
inline constexpr std::array<uint64_t, 13> kFsyncBoundsMicros = {50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
inline constexpr std::array<uint64_t, 12> kGroupBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

// Lock-free counts per bucket plus a running sum; written by the flusher, read by Stats().
template <size_t N>
class Histogram {
 public:
  void Add(uint64_t v, const std::array<uint64_t, N>& bounds) {
    size_t i = 0;
    while (i < N && v > bounds[i]) i++;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }
  std::vector<uint64_t> Counts() const {
    std::vector<uint64_t> out;
    out.reserve(N + 1);
    for (const auto& c : counts_) out.push_back(c.load(std::memory_order_relaxed));
    return out;
  }
  uint64_t Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, N + 1> counts_{};
  std::atomic<uint64_t> sum_{0};
};

struct EngineStats {
  uint64_t keys = 0;
  uint64_t next_lsn = 0;
  uint64_t durable_lsn = 0;
  uint64_t flushed_lsn = 0;
  uint64_t applied_lsn = 0;
  Role role = Role::kPrimary;
  uint64_t wal_bytes = 0;
  uint64_t wal_segments = 0;
  uint64_t last_checkpoint_lsn = 0;
  uint64_t last_checkpoint_time_ms = 0;  // wall clock of that checkpoint (control file); 0 = none yet
  uint64_t checkpoints = 0;
  uint64_t fsyncs = 0;
  uint64_t max_group_commit = 0;
  std::vector<uint64_t> fsync_buckets;  // per kFsyncBoundsMicros bucket, not cumulative
  uint64_t fsync_micros = 0;            // time spent in fdatasync, total
  std::vector<uint64_t> group_buckets;  // records per durable group, per kGroupBounds bucket
  uint64_t group_records = 0;
  uint64_t table_bytes = 0;  // hash slots + ordered index (not items)
};

struct LogLine {
  std::string level;  // "info" | "warn" | "error"
  std::string message;
};

// What listeners hear from the background threads. kDurable comes whenever the durable,
// flushed or applied LSN advanced (after what it reports was applied), and once with
// error_code when the WAL failed.
struct EngineEvent {
  enum class Type { kDurable, kLog };
  Type type;
  uint64_t durable_lsn = 0;
  uint64_t flushed_lsn = 0;  // kDurable only
  uint64_t applied_lsn = 0;  // kDurable only
  std::string error_code;  // kDurable only: "IO_ERROR" once the WAL failed
  std::string message;     // error message, or the log line
  std::string level;       // kLog only
};
using EngineListener = std::function<void(const EngineEvent&)>;

// Absent optional = unbounded.
using KeyBound = std::optional<std::string_view>;

class Engine {
 public:
  // Creates or recovers the store in options.dir and starts its threads. Log lines meant
  // for the operator (torn tail, repairs) are appended to *logs. Errors: Locked,
  // Corruption (naming file and offset), IoError.
  static Status Open(const EngineOptions& options, std::vector<LogLine>* logs, std::unique_ptr<Engine>* out);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Calls f(const Item&) with the live entry for key under its shard's shared lock and
  // returns true, or returns false if absent or expired at `now`. f must not call back
  // into the engine.
  template <typename F>
  bool Read(std::string_view key, int64_t now, F&& f) const {
    return ReadHashed(key, HashKey(key), now, std::forward<F>(f));
  }
  template <typename F>
  bool ReadHashed(std::string_view key, uint64_t h, int64_t now, F&& f) const {
    const Shard& shard = ShardFor(h);
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    const Item* item = shard.Find(key, h);
    if (item == nullptr || !item->Live(now)) return false;
    f(*item);
    return true;
  }

  // if_version: -1 unconditional, 0 must not exist, v current version must be v.
  Status Put(std::string_view key, std::string_view value, uint64_t expires_at, int64_t if_version, int64_t now,
             uint64_t* lsn);
  // *lsn = 0 (nothing written) when the key is absent and if_version is -1.
  Status Delete(std::string_view key, int64_t if_version, int64_t now, uint64_t* lsn);
  Status Incr(std::string_view key, int64_t delta, int64_t now, uint64_t* lsn, int64_t* result);
  // body = a BATCH record body; malformed → InvalidArgument.
  Status Batch(std::string_view body, int64_t now, uint64_t* lsn);
  // A conditional batch, the commit step of a transaction (ts/store/txn.ts): under the
  // write lock, every key in `checks` must have exactly the version given (0 = absent or
  // expired), as conditions see it (pending writes included), else VersionMismatch and
  // nothing is written. checks = count u32 · count × (klen u32 · key · version u64).
  // An empty body writes nothing (*lsn = 0): the checks alone validate a read-only
  // transaction. Malformed checks or body → InvalidArgument.
  Status BatchIf(std::string_view body, std::string_view checks, int64_t now, uint64_t* lsn);
  // Appends a record of an optional kind (128..255, docs/on-disk-format.md) that changes no
  // entry: readers that do not know the kind skip it, apply ignores it. Replication writes
  // the TIMELINE record (kind 128) this way. Errors: InvalidArgument (kind < 128 or body
  // over 256 MiB), ReadOnly (a standby), IoError, Closed.
  Status WriteMarker(uint8_t kind, std::string_view body, uint64_t* lsn);

  // Visits live entries with keys in [start, end) in byte order (reversed if asked), at
  // most `limit` (0 = all), under every shard's shared lock. visit(const Item&).
  void Scan(KeyBound start, KeyBound end, size_t limit, bool reverse, int64_t now,
            const std::function<void(const Item&)>& visit) const;
  uint64_t Count(KeyBound start, KeyBound end, int64_t now) const;
  // Examines at most `budget` entries from where the last call stopped; removes those
  // expired at `now`; returns how many it removed.
  size_t Sweep(int64_t now, size_t budget);

  // Fuzzy checkpoint (blocking; run it off the JS thread). *redo = its redo LSN.
  Status Checkpoint(int64_t now, uint64_t* redo);
  EngineStats Stats() const;
  uint64_t NextLsn() const;

  // ---- replication (engine_wal_read.cc, engine_standby.cc; docs/replication.md)

  // Reads whole WAL records from from_lsn on, byte for byte as on disk, across segments,
  // but never past the flushed LSN (so never a record that is not fdatasynced, never a
  // torn one): at most max_bytes, except that a first record larger than that comes
  // alone. Empty (last_lsn = from_lsn - 1) when from_lsn is flushed_lsn + 1 up to
  // next_lsn. Safe while the writer appends and checkpoints drop segments. Errors:
  // InvalidArgument (from_lsn 0), WalCompacted (from_lsn is older than the oldest segment
  // kept: send a base backup), LsnMismatch (from_lsn > next_lsn: the reader is ahead of
  // this log), Corruption (a record on disk fails its CRC), IoError, Closed.
  Status ReadWal(uint64_t from_lsn, size_t max_bytes, WalChunk* out) const;

  // Standby only. `records` = whole WAL records (as ReadWal returns them), the first one
  // carrying first_lsn. Checks everything before changing anything: each record's length
  // and CRC, known kinds' bodies (kinds >= 128 are kept but not applied), consecutive
  // LSNs, and first_lsn == NextLsn(). Then writes them at those LSNs through the flusher
  // (group commit), fdatasyncs whatever the durability policy, and applies them through
  // ApplyRecord once synced. *last_lsn = the last record's LSN; WaitApplied(*last_lsn)
  // waits for all that. Errors (nothing written): BadRecord, LsnMismatch (gap,
  // duplicate, out of order), InvalidArgument (empty), NotStandby, IoError, Closed.
  Status AppendReplicated(std::string_view records, uint64_t first_lsn, uint64_t* last_lsn);

  // Blocks until every record <= lsn is applied: Ok, IoError (the WAL failed first) or
  // Closed (the engine stopped first).
  Status WaitApplied(uint64_t lsn);

  // Standby → primary: refuses further AppendReplicated, waits until every received
  // record is durable and applied, then takes client writes. Blocking (run it off the JS
  // thread). Errors: NotStandby (a primary, or a promotion already running), IoError,
  // Closed. Writes no WAL record (timelines are a later phase of issue 14).
  Status Promote();

  WalPositions Positions() const;

  // Keeps every WAL record >= lsn on disk: checkpoints drop no segment holding one until
  // ReleaseWal(token). A stream sender retains what it is about to send, a base backup the
  // WAL from its snapshot's redo LSN. Returns the token.
  uint64_t RetainWal(uint64_t lsn);
  void ReleaseWal(uint64_t token);
  Role role() const { return role_.load(); }

  // Wakes the flusher if records wait for it (see EngineOptions::defer_flusher_wake).
  void Kick();

  // Blocks until every record submitted so far is durable, or the WAL failed and its IO_ERROR
  // event has been emitted to the listeners.
  void WaitDurable();

  // Blocks until every WAL record with lsn <= `lsn` is written and fdatasynced, whatever
  // the durability policy (a flush request makes the flusher sync even under `none`).
  // Returns the WAL's failure, or Closed if the engine stops first.
  Status SyncWalThrough(uint64_t lsn);

  int AddListener(EngineListener listener);
  void RemoveListener(int id);

  // The real close: stops writes, flushes and syncs the WAL, joins the threads, writes
  // a final checkpoint if asked and anything was written since the last one, releases
  // LOCK. Idempotent. Reads and writes afterwards return Closed.
  Status Close(bool final_checkpoint);
  bool closed() const { return closed_.load(); }

  Durability durability() const { return options_.durability; }

 private:
  // A change waiting for its fdatasync before it is applied (durability always).
  struct StagedChange {
    bool is_put;
    std::string key;
    std::string value;
    uint64_t expires_at;
    uint64_t hash;
  };
  // What waits for its fdatasync before it is applied: a local write under `always`
  // (decoded changes), or a chunk of replicated records under any policy (their bytes,
  // applied through ApplyRecord). `lsn` is its last LSN.
  struct StagedRecord {
    uint64_t lsn;
    std::vector<StagedChange> changes;
    std::string replicated;
  };
  // The newest submitted, not yet applied write of a key. Points into staged_ (or into
  // records the flusher is applying, which outlive every PendingRef to them).
  struct PendingRef {
    uint64_t lsn;
    const StagedChange* change;
  };
  // The newest submitted state of a key, as conditions see it.
  struct Current {
    bool live = false;
    uint64_t version = 0;
    uint64_t expires_at = 0;
  };

  explicit Engine(const EngineOptions& options);

  Shard& ShardFor(uint64_t hash) const { return shards_[(hash >> 32) & shard_mask_]; }
  size_t ShardIndex(uint64_t hash) const { return static_cast<size_t>((hash >> 32) & shard_mask_); }

  Status AcquireLock();
  void ReleaseLock();
  // ---- recovery (engine_recovery.cc)
  Status Recover(std::vector<LogLine>* logs);
  Status ReplaySegments(uint64_t redo, std::vector<LogLine>* logs, uint64_t* next_lsn);
  Status CorruptAt(const std::string& file, size_t offset, const std::string& why,
                   const std::vector<std::string>& later, std::vector<LogLine>* logs, bool* stop);

  // ---- apply (engine_apply.cc)
  // The one way a WAL record reaches the table (recovery; a standby's received records):
  // decodes `body` and applies its changes at version `lsn`, a batch all at once under its
  // shards' locks. Kinds >= kKindFirstSkippable are skipped (nothing applied, Ok). A
  // malformed body or an unknown kind returns Corruption and applies nothing. `scratch`
  // is reused between calls to spare an allocation per record.
  Status ApplyRecord(uint64_t lsn, uint8_t kind, std::string_view body, std::vector<Change>* scratch);
  // Applies decoded changes at version `lsn` under the touched shards' locks (in index
  // order), so no reader sees part of a batch.
  void ApplyChanges(const std::vector<Change>& changes, uint64_t lsn);
  // Applies a staged write (hashes computed at submit) or replicated chunk.
  void ApplyStaged(const StagedRecord& rec);

  // ---- write path (engine_write.cc). REQUIRES: write_mu_ held.
  Status CheckWritable() const;
  Current CurrentLocked(std::string_view key, uint64_t hash, int64_t now, std::string* value);
  // Starts a record of `body_bytes` (segment rotation bookkeeping) and returns its LSN
  // and start offset in buf_; append the body, then EndRecordLocked.
  uint64_t BeginRecordLocked(size_t body_bytes, size_t* start);
  void EndRecordLocked(size_t start, uint64_t lsn, uint8_t kind, std::vector<StagedChange>* staged,
                       const std::vector<Change>& changes);

  // ---- flusher (engine_flusher.cc)
  // Under interval/none the write path wakes the flusher once this much is buffered.
  static constexpr size_t kWakeBytes = 64u << 10;
  void FlusherMain();
  // Applies staged records with lsn <= synced, then drops their pending refs; true if it
  // applied any. Flusher only; `lock` (on write_mu_) is unlocked on entry and on return.
  bool ApplySynced(uint64_t synced, std::unique_lock<std::mutex>* lock);
  Status WriteGroup(const std::string& group, const std::vector<std::pair<size_t, uint64_t>>& rotations);
  void Fail(const Status& s);

  // ---- checkpoints (engine_checkpoint.cc)
  void CheckpointerMain();
  Status DropBefore(uint64_t redo);

  // ---- listeners (engine.cc)
  void Emit(const EngineEvent& event);
  void EmitLog(const std::string& level, const std::string& message);

  const EngineOptions options_;
  const std::string wal_dir_;
  const std::string base_dir_;
  DirLock lock_;
  std::unique_ptr<Shard[]> shards_;
  const size_t shard_mask_;

  // ---- write path, guarded by write_mu_
  mutable std::mutex write_mu_;
  std::condition_variable flusher_cv_;  // wakes the flusher
  std::condition_variable durable_cv_;  // durable_lsn_ advanced or WAL failed
  uint64_t next_lsn_ = 1;
  std::string buf_;  // framed records not yet handed to the flusher
  uint64_t buf_records_ = 0;
  std::vector<std::pair<size_t, uint64_t>> rotations_;  // (offset in buf_, first LSN of new segment)
  uint64_t virtual_segment_bytes_ = 0;                   // current segment incl. buf_
  bool rotate_requested_ = false;
  bool flush_requested_ = false;
  bool force_sync_ = false;  // the next group is fdatasynced whatever the policy (replicated records)
  bool flusher_done_ = false;
  bool promoting_ = false;
  bool flusher_idle_ = false;
  bool stop_ = false;
  bool closing_ = false;
  Status failed_;
  // Set (under write_mu_) once Fail() has emitted its IO_ERROR event: WaitDurable() returns on
  // a failure only then, so a caller that waited has the failure notification already.
  bool failure_emitted_ = false;
  std::deque<StagedRecord> staged_;
  std::unordered_map<std::string, PendingRef> pending_;

  std::atomic<uint64_t> applied_lsn_{0};
  std::atomic<uint64_t> durable_lsn_{0};
  // The flushed LSN: every record up to here is fdatasynced (== durable_lsn_ under
  // `always`). Written by the flusher; SyncWalThrough and ReadWal rely on it.
  std::atomic<uint64_t> synced_lsn_{0};
  std::atomic<Role> role_{Role::kPrimary};
  std::atomic<int64_t> last_now_{0};
  std::atomic<bool> closed_{false};

  // ---- flusher-owned
  WalSegment segment_;
  std::thread flusher_;
  std::atomic<uint64_t> wal_bytes_{0};
  std::atomic<uint64_t> wal_since_checkpoint_{0};
  std::atomic<uint64_t> fsyncs_{0};
  std::atomic<uint64_t> max_group_commit_{0};
  Histogram<kFsyncBoundsMicros.size()> fsync_hist_;
  Histogram<kGroupBounds.size()> group_hist_;

  // ---- segment list, guarded by seg_mu_
  mutable std::mutex seg_mu_;
  std::vector<uint64_t> segments_;  // first LSNs, ascending
  std::map<uint64_t, uint64_t> retained_;  // RetainWal token → lsn
  uint64_t next_retain_token_ = 1;
  uint64_t current_segment_ = 0;

  // ---- where recent ReadWal calls ended (engine_wal_read.cc), so a reader that follows
  // the log finds its next record without scanning its segment from the start.
  struct WalPosition {
    uint64_t lsn = 0;  // the record at (segment, offset) carries this LSN
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint64_t used = 0;  // LRU clock
  };
  static constexpr size_t kWalPositionSlots = 32;
  mutable std::mutex positions_mu_;
  mutable std::array<WalPosition, kWalPositionSlots> positions_{};
  mutable uint64_t positions_clock_ = 0;
  bool FindWalPosition(uint64_t lsn, uint64_t* segment, uint64_t* offset) const;
  void NoteWalPosition(uint64_t lsn, uint64_t segment, uint64_t offset) const;

  // ---- checkpoints
  std::mutex checkpoint_mu_;  // one checkpoint at a time
  std::atomic<bool> checkpoint_running_{false};
  std::atomic<uint64_t> last_checkpoint_lsn_{0};
  std::atomic<uint64_t> last_checkpoint_time_ms_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::mutex ckpt_thread_mu_;
  std::condition_variable ckpt_cv_;
  bool auto_checkpoint_requested_ = false;
  bool ckpt_stop_ = false;
  std::thread checkpointer_;

  // ---- sweep cursor
  std::mutex sweep_mu_;
  size_t sweep_shard_ = 0;

  // ---- listeners
  std::mutex listeners_mu_;
  std::map<int, EngineListener> listeners_;
  int next_listener_id_ = 1;

  std::mutex close_mu_;
};

}  // namespace kvstore

#endif  // KVSTORE_CORE_ENGINE_H_

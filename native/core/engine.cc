#include "engine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <queue>

#include "coding.h"
#include "control_file.h"
#include "dir_lock.h"
#include "snapshot.h"
#include "wal_format.h"

namespace kvstore {
namespace {

// Under interval/none the flusher hands buffered records to the kernel (without syncing)
// every kWritePeriod, or as soon as kWakeBytes are buffered, and reports them as the
// durable LSN of those policies: the store's backpressure waits on it.
constexpr size_t kWakeBytes = 64u << 10;
constexpr auto kWritePeriod = std::chrono::milliseconds(10);
// Entries a checkpoint copies under one shard lock.
constexpr size_t kCheckpointSlice = 1024;

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool InRange(std::string_view key, const KeyBound& start, const KeyBound& end) {
  if (start && CompareKeys(key, *start) < 0) return false;
  if (end && CompareKeys(key, *end) >= 0) return false;
  return true;
}

// Parses a decimal signed 64-bit integer: optional '-', 1..19 digits, no overflow.
bool ParseInt64(std::string_view text, int64_t* out) {
  size_t i = 0;
  bool neg = false;
  if (!text.empty() && text[0] == '-') {
    neg = true;
    i = 1;
  }
  size_t digits = text.size() - i;
  if (digits < 1 || digits > 19) return false;
  unsigned __int128 v = 0;
  for (; i < text.size(); i++) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (neg) {
    if (v > static_cast<unsigned __int128>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(-static_cast<__int128>(v));
  } else {
    if (v > static_cast<unsigned __int128>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

}  // namespace

Engine::Engine(const EngineOptions& options)
    : options_(options),
      wal_dir_(JoinPath(options.dir, "wal")),
      base_dir_(JoinPath(options.dir, "base")),
      shards_(std::make_unique<Shard[]>(options.shards)),
      shard_mask_(options.shards - 1) {}

Engine::~Engine() {
  Close(false);
}

// ====================================================================== open / recovery

Status Engine::Open(const EngineOptions& options, std::vector<LogLine>* logs, std::unique_ptr<Engine>* out) {
  if (options.shards == 0 || options.shards > 4096 || (options.shards & (options.shards - 1)) != 0) {
    return Status::InvalidArgument("shards must be a power of two in 1..4096");
  }
  if (options.wal_segment_bytes == 0) return Status::InvalidArgument("walSegmentBytes must be positive");
  Status s = MakeDirs(options.dir);
  if (s.ok()) s = MakeDir(JoinPath(options.dir, "wal"));
  if (s.ok()) s = MakeDir(JoinPath(options.dir, "base"));
  if (!s.ok()) return s;
  std::unique_ptr<Engine> e(new Engine(options));
  s = e->AcquireLock();
  if (!s.ok()) return s;
  s = e->Recover(logs);
  if (!s.ok()) {
    e->ReleaseLock();
    return s;
  }
  e->flusher_ = std::thread([raw = e.get()] { raw->FlusherMain(); });
  e->checkpointer_ = std::thread([raw = e.get()] { raw->CheckpointerMain(); });
  *out = std::move(e);
  return Status::Ok();
}

Status Engine::AcquireLock() { return DirLock::Acquire(options_.dir, &lock_); }

void Engine::ReleaseLock() { lock_.Release(); }

Status Engine::Recover(std::vector<LogLine>* logs) {
  uint64_t redo = 1;
  ControlData control;
  bool have_control = false;
  Status s = ReadControl(options_.dir, &have_control, &control);
  if (!s.ok()) return s;
  if (have_control) {
    redo = control.redo_lsn;
    last_checkpoint_lsn_ = redo;
    s = LoadSnapshot(base_dir_, redo, [this](std::string_view k, std::string_view v, uint64_t version,
                                             uint64_t expires_at) {
      uint64_t h = HashKey(k);
      ShardFor(h).Put(k, h, v, version, expires_at);
    });
    if (!s.ok()) return s;
  }
  uint64_t next = redo;
  s = ReplaySegments(redo, logs, &next);
  if (!s.ok()) return s;

  std::vector<std::string> names;
  s = ListDir(wal_dir_, &names);
  if (!s.ok()) return s;
  std::sort(names.begin(), names.end());
  uint64_t total = 0;
  for (const auto& n : names) {
    uint64_t first;
    if (!ParseSegmentName(n, &first)) continue;
    uint64_t size;
    s = FileSize(JoinPath(wal_dir_, n), &size);
    if (!s.ok()) return s;
    segments_.push_back(first);
    total += size;
  }
  // A new segment at next (an existing file of that name can only be empty: its records
  // would have advanced `next`).
  s = segment_.Open(wal_dir_, next);
  if (!s.ok()) return s;
  if (std::find(segments_.begin(), segments_.end(), next) == segments_.end()) segments_.push_back(next);
  current_segment_ = next;
  wal_bytes_ = total;
  next_lsn_ = next;
  applied_lsn_ = next - 1;
  durable_lsn_ = next - 1;
  synced_lsn_ = next - 1;
  virtual_segment_bytes_ = segment_.size();
  return Status::Ok();
}

Status Engine::CorruptAt(const std::string& file, size_t offset, const std::string& why,
                         const std::vector<std::string>& later, std::vector<LogLine>* logs, bool* stop) {
  std::string what = "WAL corrupt in " + file + " at offset " + std::to_string(offset) + ": " + why;
  if (!options_.truncate_corrupt_tail) {
    return Status::Corruption(what +
                              "; open with truncateCorruptTail: true to cut the log there (later records are lost)");
  }
  logs->push_back({"error", what + "; truncating there and discarding " + std::to_string(later.size()) +
                                " later segment(s) as truncateCorruptTail asked"});
  Status s = TruncateFile(file, offset);
  if (!s.ok()) return s;
  for (const auto& n : later) {
    s = RemoveFile(JoinPath(wal_dir_, n));
    if (!s.ok()) return s;
  }
  *stop = true;
  return FsyncDir(wal_dir_);
}

void Engine::ApplyReplay(const std::vector<Change>& changes, uint64_t lsn) {
  for (const Change& c : changes) {
    uint64_t h = HashKey(c.key);
    if (c.is_put) {
      ShardFor(h).Put(c.key, h, c.value, lsn, c.expires_at);
    } else {
      ShardFor(h).Erase(c.key, h);
    }
  }
}

Status Engine::ReplaySegments(uint64_t redo, std::vector<LogLine>* logs, uint64_t* next_lsn) {
  std::vector<std::string> all;
  Status s = ListDir(wal_dir_, &all);
  if (!s.ok()) return s;
  std::vector<std::string> names;
  std::vector<uint64_t> firsts;
  for (const auto& n : all) {
    uint64_t first;
    if (ParseSegmentName(n, &first)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    uint64_t first;
    ParseSegmentName(n, &first);
    firsts.push_back(first);
  }
  bool have_expected = false;
  uint64_t expected = 0;
  bool stop = false;
  std::vector<Change> changes;
  std::string buf;
  for (size_t i = 0; i < names.size() && !stop; i++) {
    if (i + 1 < names.size() && firsts[i + 1] <= redo) continue;  // wholly before the redo point
    std::string file = JoinPath(wal_dir_, names[i]);
    s = ReadWholeFile(file, &buf);
    if (!s.ok()) return s;
    std::string_view view(buf);
    bool is_last = i + 1 == names.size();
    std::vector<std::string> later(names.begin() + static_cast<ptrdiff_t>(i) + 1, names.end());
    size_t at = 0;
    for (;;) {
      RecordView r;
      ReadResult rr = ReadRecord(view, at, &r);
      uint64_t want = have_expected ? expected : firsts[i];
      if (rr != ReadResult::kOk) {
        if (rr == ReadResult::kEnd) break;
        if (is_last && !ValidRecordAfter(view, at + 1, want + 1)) {
          logs->push_back({"warn", "torn WAL tail in " + file + " at offset " + std::to_string(at) + " (" +
                                       ReadResultName(rr) + "): truncated"});
          s = TruncateFile(file, at);
          if (!s.ok()) return s;
          break;
        }
        s = CorruptAt(file, at, std::string("bad record (") + ReadResultName(rr) + ")", later, logs, &stop);
        if (!s.ok()) return s;
        break;
      }
      if (at == 0 && r.lsn != firsts[i]) {
        // A segment is named after its first record: one that is not (a file renamed or
        // copied by hand) cannot be placed in the LSN order, so its records are not replayed.
        s = CorruptAt(file, at, "segment " + names[i] + " begins with LSN " + std::to_string(r.lsn), later, logs, &stop);
        if (!s.ok()) return s;
        break;
      }
      if (!have_expected && r.lsn > redo) {
        s = CorruptAt(file, at,
                      "WAL starts at LSN " + std::to_string(r.lsn) + " but replay must start at " +
                          std::to_string(redo) + ": segments are missing",
                      later, logs, &stop);
        if (!s.ok()) return s;
        break;
      }
      if (r.lsn != want) {
        s = CorruptAt(file, at, "LSN " + std::to_string(r.lsn) + " where " + std::to_string(want) + " was expected",
                      later, logs, &stop);
        if (!s.ok()) return s;
        break;
      }
      if (r.lsn >= redo && r.kind < kKindFirstSkippable) {
        std::string why;
        if (!DecodeBody(r.kind, r.body, &changes, &why)) {
          s = CorruptAt(file, at, why, later, logs, &stop);
          if (!s.ok()) return s;
          break;
        }
        ApplyReplay(changes, r.lsn);
      }
      have_expected = true;
      expected = r.lsn + 1;
      at = r.next;
    }
  }
  *next_lsn = have_expected && expected > redo ? expected : redo;
  return Status::Ok();
}

// ====================================================================== writes

Status Engine::CheckWritable() const {
  if (closing_ || closed_) return Status::Closed("the store is closed");
  if (!failed_.ok()) return Status::IoError(failed_.message());
  return Status::Ok();
}

Engine::Current Engine::CurrentLocked(std::string_view key, uint64_t hash, int64_t now, std::string* value) {
  last_now_.store(now, std::memory_order_relaxed);
  Current cur;
  if (!pending_.empty()) {
    auto it = pending_.find(std::string(key));
    if (it != pending_.end()) {
      const StagedChange* c = it->second.change;
      if (c->is_put && (c->expires_at == 0 || static_cast<int64_t>(c->expires_at) > now)) {
        cur.live = true;
        cur.version = it->second.lsn;
        cur.expires_at = c->expires_at;
        if (value != nullptr) *value = c->value;
      }
      return cur;
    }
  }
  ReadHashed(key, hash, now, [&](const Item& item) {
    cur.live = true;
    cur.version = item.version;
    cur.expires_at = item.expires_at;
    if (value != nullptr) value->assign(item.value_data(), item.vlen);
  });
  return cur;
}

uint64_t Engine::BeginRecordLocked(size_t body_bytes, size_t* start) {
  uint64_t lsn = next_lsn_++;
  uint64_t rec = kRecordHeaderSize + body_bytes;
  if (virtual_segment_bytes_ > 0 &&
      (rotate_requested_ || virtual_segment_bytes_ + rec > options_.wal_segment_bytes)) {
    rotations_.emplace_back(buf_.size(), lsn);
    virtual_segment_bytes_ = 0;
  }
  rotate_requested_ = false;
  virtual_segment_bytes_ += rec;
  *start = BeginRecord(&buf_);
  return lsn;
}

void Engine::EndRecordLocked(size_t start, uint64_t lsn, uint8_t kind, std::vector<StagedChange>* staged,
                             const std::vector<Change>& changes) {
  FinishRecord(&buf_, start, lsn, kind);
  buf_records_++;
  if (options_.durability == Durability::kAlways) {
    staged_.push_back(StagedRecord{lsn, std::move(*staged)});
    for (const StagedChange& c : staged_.back().changes) pending_[c.key] = PendingRef{lsn, &c};
    if (flusher_idle_ && !options_.defer_flusher_wake) {
      flusher_idle_ = false;
      flusher_cv_.notify_one();
    }
  } else {
    ApplyToShards(changes, lsn);
    applied_lsn_.store(lsn, std::memory_order_release);
    if (buf_.size() >= kWakeBytes && flusher_idle_) {
      flusher_idle_ = false;
      flusher_cv_.notify_one();
    }
  }
}

Status Engine::Put(std::string_view key, std::string_view value, uint64_t expires_at, int64_t if_version,
                   int64_t now, uint64_t* lsn) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  uint64_t h = HashKey(key);
  if (if_version >= 0 || !pending_.empty()) {
    Current cur = CurrentLocked(key, h, now, nullptr);
    if (if_version >= 0 && cur.version != static_cast<uint64_t>(if_version)) {
      return Status::VersionMismatch("expected version " + std::to_string(if_version) + ", found " +
                                     std::to_string(cur.version));
    }
  } else {
    last_now_.store(now, std::memory_order_relaxed);
  }
  size_t start;
  *lsn = BeginRecordLocked(kPutFixedSize + key.size() + value.size(), &start);
  AppendPutBody(&buf_, key, value, expires_at);
  std::vector<StagedChange> staged;
  std::vector<Change> changes;
  if (options_.durability == Durability::kAlways) {
    staged.push_back(StagedChange{true, std::string(key), std::string(value), expires_at, h});
  } else {
    changes.push_back(Change{true, key, value, expires_at});
  }
  EndRecordLocked(start, *lsn, kKindPut, &staged, changes);
  return Status::Ok();
}

Status Engine::Delete(std::string_view key, int64_t if_version, int64_t now, uint64_t* lsn) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  uint64_t h = HashKey(key);
  Current cur = CurrentLocked(key, h, now, nullptr);
  if (if_version >= 0 && cur.version != static_cast<uint64_t>(if_version)) {
    return Status::VersionMismatch("expected version " + std::to_string(if_version) + ", found " +
                                   std::to_string(cur.version));
  }
  if (!cur.live) {
    *lsn = 0;
    return Status::Ok();
  }
  size_t start;
  *lsn = BeginRecordLocked(kDeleteFixedSize + key.size(), &start);
  AppendDeleteBody(&buf_, key);
  std::vector<StagedChange> staged;
  std::vector<Change> changes;
  if (options_.durability == Durability::kAlways) {
    staged.push_back(StagedChange{false, std::string(key), std::string(), 0, h});
  } else {
    changes.push_back(Change{false, key, std::string_view(), 0});
  }
  EndRecordLocked(start, *lsn, kKindDelete, &staged, changes);
  return Status::Ok();
}

Status Engine::Incr(std::string_view key, int64_t delta, int64_t now, uint64_t* lsn, int64_t* result) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  uint64_t h = HashKey(key);
  std::string text;
  Current cur = CurrentLocked(key, h, now, &text);
  int64_t n = 0;
  if (cur.live && !ParseInt64(text, &n)) return Status::NotANumber("the value is not a decimal integer");
  int64_t r;
  if (__builtin_add_overflow(n, delta, &r)) return Status::NotANumber("the result overflows 64 bits");
  std::string value = std::to_string(r);
  uint64_t expires_at = cur.live ? cur.expires_at : 0;
  size_t start;
  *lsn = BeginRecordLocked(kPutFixedSize + key.size() + value.size(), &start);
  AppendPutBody(&buf_, key, value, expires_at);
  std::vector<StagedChange> staged;
  std::vector<Change> changes;
  if (options_.durability == Durability::kAlways) {
    staged.push_back(StagedChange{true, std::string(key), value, expires_at, h});
  } else {
    changes.push_back(Change{true, key, value, expires_at});
  }
  EndRecordLocked(start, *lsn, kKindIncr, &staged, changes);
  *result = r;
  return Status::Ok();
}

Status Engine::Batch(std::string_view body, int64_t now, uint64_t* lsn) {
  std::vector<Change> changes;
  std::string why;
  if (!DecodeBody(kKindBatch, body, &changes, &why)) return Status::InvalidArgument("malformed batch: " + why);
  if (body.size() > kMaxRecordBody) return Status::InvalidArgument("batch body larger than 256 MiB");
  std::vector<StagedChange> staged;
  if (options_.durability == Durability::kAlways) {
    // Copied before taking the lock: the copies are the expensive part.
    staged.reserve(changes.size());
    for (const Change& c : changes) {
      staged.push_back(StagedChange{c.is_put, std::string(c.key), std::string(c.value), c.expires_at, HashKey(c.key)});
    }
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  last_now_.store(now, std::memory_order_relaxed);
  size_t start;
  *lsn = BeginRecordLocked(body.size(), &start);
  buf_.append(body);
  EndRecordLocked(start, *lsn, kKindBatch, &staged, changes);
  return Status::Ok();
}

void Engine::ApplyToShards(const std::vector<Change>& changes, uint64_t lsn) {
  if (changes.size() == 1) {
    const Change& c = changes[0];
    uint64_t h = HashKey(c.key);
    Shard& shard = ShardFor(h);
    std::unique_lock<std::shared_mutex> lock(shard.mu);
    if (c.is_put) {
      shard.Put(c.key, h, c.value, lsn, c.expires_at);
    } else {
      shard.Erase(c.key, h);
    }
    return;
  }
  // A batch: hold every touched shard (in index order) so no reader sees half of it.
  std::vector<uint64_t> hashes;
  std::vector<size_t> idx;
  hashes.reserve(changes.size());
  for (const Change& c : changes) {
    hashes.push_back(HashKey(c.key));
    idx.push_back(ShardIndex(hashes.back()));
  }
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  locks.reserve(idx.size());
  for (size_t i : idx) locks.emplace_back(shards_[i].mu);
  for (size_t i = 0; i < changes.size(); i++) {
    const Change& c = changes[i];
    if (c.is_put) {
      ShardFor(hashes[i]).Put(c.key, hashes[i], c.value, lsn, c.expires_at);
    } else {
      ShardFor(hashes[i]).Erase(c.key, hashes[i]);
    }
  }
}

void Engine::ApplyStaged(const StagedRecord& rec) {
  std::vector<size_t> idx;
  for (const StagedChange& c : rec.changes) idx.push_back(ShardIndex(c.hash));
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  locks.reserve(idx.size());
  for (size_t i : idx) locks.emplace_back(shards_[i].mu);
  for (const StagedChange& c : rec.changes) {
    if (c.is_put) {
      ShardFor(c.hash).Put(c.key, c.hash, c.value, rec.lsn, c.expires_at);
    } else {
      ShardFor(c.hash).Erase(c.key, c.hash);
    }
  }
}

// ====================================================================== flusher

void Engine::Kick() {
  std::lock_guard<std::mutex> lock(write_mu_);
  if (!buf_.empty() && flusher_idle_) {
    flusher_idle_ = false;
    flusher_cv_.notify_one();
  }
}

void Engine::FlusherMain() {
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(std::max<uint32_t>(1, options_.interval_ms));
  auto next_sync = Clock::now() + interval;
  uint64_t written_lsn = durable_lsn_.load();
  uint64_t unsynced_records = 0;
  std::unique_lock<std::mutex> lock(write_mu_);
  for (;;) {
    // ---- wait for work
    for (;;) {
      if (stop_ || flush_requested_) break;
      if (!failed_.ok()) {
        flusher_idle_ = true;
        flusher_cv_.wait(lock);
        continue;
      }
      if (options_.durability == Durability::kAlways) {
        if (!buf_.empty()) break;
        flusher_idle_ = true;
        flusher_cv_.wait(lock);
      } else {
        if (buf_.size() >= kWakeBytes) break;
        auto deadline = Clock::now() + kWritePeriod;
        if (options_.durability == Durability::kInterval) {
          if (Clock::now() >= next_sync) break;
          deadline = std::min(deadline, next_sync);
        }
        flusher_idle_ = true;
        if (flusher_cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
          flusher_idle_ = false;
          break;
        }
      }
    }
    flusher_idle_ = false;
    bool stopping = stop_;
    bool flush_requested = flush_requested_;
    flush_requested_ = false;
    if (!failed_.ok()) {
      durable_cv_.notify_all();
      if (stopping) return;
      continue;
    }
    std::string group;
    group.swap(buf_);
    std::vector<std::pair<size_t, uint64_t>> rotations;
    rotations.swap(rotations_);
    uint64_t records = buf_records_;
    buf_records_ = 0;
    uint64_t last_lsn = next_lsn_ - 1;
    bool sync = options_.durability == Durability::kAlways || stopping || flush_requested ||
                (options_.durability == Durability::kInterval && Clock::now() >= next_sync);
    lock.unlock();

    Status s = group.empty() ? Status::Ok() : WriteGroup(group, rotations);
    if (s.ok() && !group.empty()) {
      written_lsn = last_lsn;
      unsynced_records += records;
    }
    bool synced = false;
    auto timed_sync = [&] {
      auto t0 = Clock::now();
      Status st = segment_.Sync();
      fsyncs_++;
      fsync_hist_.Add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()), kFsyncBoundsMicros);
      return st;
    };
    // A flush request (close, or a checkpoint's SyncWalThrough) syncs under `none` too.
    if (s.ok() && sync && (options_.durability != Durability::kNone || flush_requested) && unsynced_records > 0) {
      s = timed_sync();
      synced = true;
    } else if (s.ok() && stopping && unsynced_records > 0) {
      s = timed_sync();  // close syncs even under `none`
      synced = true;
    }
    if (options_.durability == Durability::kInterval && sync) next_sync = Clock::now() + interval;
    if (!s.ok()) {
      Fail(s);
      lock.lock();
      durable_cv_.notify_all();
      if (stopping) return;
      continue;
    }
    // `always`: durable = synced. interval/none: durable = handed to the kernel (interval
    // syncs on its own clock above).
    uint64_t group_size = 0;
    if (options_.durability == Durability::kAlways) {
      if (synced) group_size = unsynced_records;
    } else if (!group.empty()) {
      group_size = records;
    }
    if (synced) unsynced_records = 0;
    if (unsynced_records == 0) synced_lsn_.store(written_lsn, std::memory_order_release);
    if (group_size > max_group_commit_.load()) max_group_commit_ = group_size;
    if (group_size > 0) group_hist_.Add(group_size, kGroupBounds);
    bool advanced = group_size > 0 && written_lsn > durable_lsn_.load();
    if (options_.durability == Durability::kAlways && advanced) {
      // Apply what this sync covered, in LSN order, then drop the pending refs to it.
      std::deque<StagedRecord> done;
      lock.lock();
      while (!staged_.empty() && staged_.front().lsn <= written_lsn) {
        done.push_back(std::move(staged_.front()));
        staged_.pop_front();
      }
      lock.unlock();
      for (const StagedRecord& rec : done) {
        ApplyStaged(rec);
        applied_lsn_.store(rec.lsn, std::memory_order_release);
      }
      lock.lock();
      for (const StagedRecord& rec : done) {
        for (const StagedChange& c : rec.changes) {
          auto it = pending_.find(c.key);
          if (it != pending_.end() && it->second.lsn == rec.lsn) pending_.erase(it);
        }
      }
      lock.unlock();
    }
    if (advanced) {
      durable_lsn_.store(written_lsn, std::memory_order_release);
      EngineEvent ev;
      ev.type = EngineEvent::Type::kDurable;
      ev.durable_lsn = written_lsn;
      Emit(ev);
    }
    if (options_.checkpoint_wal_bytes > 0 && wal_since_checkpoint_.load() >= options_.checkpoint_wal_bytes &&
        !checkpoint_running_.load()) {
      std::lock_guard<std::mutex> l(ckpt_thread_mu_);
      auto_checkpoint_requested_ = true;
      ckpt_cv_.notify_one();
    }
    lock.lock();
    durable_cv_.notify_all();
    if (stopping && buf_.empty()) return;
  }
}

Status Engine::WriteGroup(const std::string& group, const std::vector<std::pair<size_t, uint64_t>>& rotations) {
  size_t off = 0;
  for (const auto& [at, first_lsn] : rotations) {
    if (at > off) {
      Status s = segment_.Append(group.data() + off, at - off);
      if (!s.ok()) return s;
      off = at;
    }
    Status s = segment_.Close(true);
    fsyncs_++;
    if (!s.ok()) return s;
    s = segment_.Open(wal_dir_, first_lsn);
    if (!s.ok()) return s;
    std::lock_guard<std::mutex> l(seg_mu_);
    segments_.push_back(first_lsn);
    current_segment_ = first_lsn;
  }
  Status s = segment_.Append(group.data() + off, group.size() - off);
  wal_bytes_ += group.size();
  wal_since_checkpoint_ += group.size();
  return s;
}

void Engine::Fail(const Status& s) {
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    failed_ = s;
    buf_.clear();
    buf_records_ = 0;
    rotations_.clear();
    pending_.clear();
    staged_.clear();
  }
  EmitLog("error", "WAL write failed, the store is now read-only: " + s.message());
  EngineEvent ev;
  ev.type = EngineEvent::Type::kDurable;
  ev.durable_lsn = durable_lsn_.load();
  ev.error_code = "IO_ERROR";
  ev.message = s.message();
  Emit(ev);
}

Status Engine::SyncWalThrough(uint64_t lsn) {
  std::unique_lock<std::mutex> lock(write_mu_);
  while (synced_lsn_.load() < lsn && failed_.ok() && !stop_) {
    flush_requested_ = true;
    flusher_idle_ = false;
    flusher_cv_.notify_one();
    durable_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  if (!failed_.ok()) return failed_;
  if (synced_lsn_.load() < lsn) return Status::Closed("the store is closing");
  return Status::Ok();
}

void Engine::WaitDurable() {
  std::unique_lock<std::mutex> lock(write_mu_);
  uint64_t target = next_lsn_ - 1;
  while (durable_lsn_.load() < target && failed_.ok() && !stop_) {
    flush_requested_ = true;
    flusher_idle_ = false;
    flusher_cv_.notify_one();
    durable_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

// ====================================================================== listeners

int Engine::AddListener(EngineListener listener) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  int id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Engine::RemoveListener(int id) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  listeners_.erase(id);
}

void Engine::Emit(const EngineEvent& event) {
  std::lock_guard<std::mutex> lock(listeners_mu_);
  for (auto& [id, fn] : listeners_) fn(event);
}

void Engine::EmitLog(const std::string& level, const std::string& message) {
  EngineEvent ev;
  ev.type = EngineEvent::Type::kLog;
  ev.level = level;
  ev.message = message;
  Emit(ev);
}

// ====================================================================== reads

void Engine::Scan(KeyBound start, KeyBound end, size_t limit, bool reverse, int64_t now,
                  const std::function<void(const Item&)>& visit) const {
  if (closed_) return;
  const size_t n = shard_mask_ + 1;
  std::vector<std::shared_lock<std::shared_mutex>> locks;
  locks.reserve(n);
  for (size_t i = 0; i < n; i++) locks.emplace_back(shards_[i].mu);
  struct Cursor {
    const OrderedIndex* index;
    OrderedIndex::Pos pos;
  };
  std::vector<Cursor> cursors;
  cursors.reserve(n);
  for (size_t i = 0; i < n; i++) {
    const OrderedIndex& ix = shards_[i].index();
    if (ix.empty()) continue;
    OrderedIndex::Pos p;
    if (!reverse) {
      p = start ? ix.LowerBound(*start) : ix.Begin();
      if (ix.AtEnd(p)) continue;
    } else {
      p = end ? ix.LowerBound(*end) : ix.End();
      if (!ix.Prev(&p)) continue;
    }
    cursors.push_back(Cursor{&ix, p});
  }
  auto key_of = [](const Cursor& c) { return c.index->At(c.pos)->key(); };
  auto cmp = [&](size_t a, size_t b) {
    int c = CompareKeys(key_of(cursors[a]), key_of(cursors[b]));
    return reverse ? c < 0 : c > 0;  // min-heap forward, max-heap reverse
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(cmp)> heap(cmp);
  for (size_t i = 0; i < cursors.size(); i++) heap.push(i);
  size_t emitted = 0;
  while (!heap.empty()) {
    size_t ci = heap.top();
    heap.pop();
    Cursor& c = cursors[ci];
    const Item* item = c.index->At(c.pos);
    if (!InRange(item->key(), start, end)) {
      // Forward: past `end`, and so is everything after it. Reverse: before `start`.
      continue;
    }
    if (item->Live(now)) {
      visit(*item);
      if (limit > 0 && ++emitted >= limit) break;
    }
    bool more;
    if (!reverse) {
      c.index->Next(&c.pos);
      more = !c.index->AtEnd(c.pos);
    } else {
      more = c.index->Prev(&c.pos);
    }
    if (more) heap.push(ci);
  }
}

uint64_t Engine::Count(KeyBound start, KeyBound end, int64_t now) const {
  if (closed_) return 0;
  uint64_t total = 0;
  const size_t n = shard_mask_ + 1;
  for (size_t i = 0; i < n; i++) {
    const Shard& shard = shards_[i];
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    const OrderedIndex& ix = shard.index();
    if (ix.empty()) continue;
    if (!start && !end) {
      // Whole table: the hash table's count minus the expired ones.
      for (OrderedIndex::Pos p = ix.Begin(); !ix.AtEnd(p); ix.Next(&p)) {
        if (ix.At(p)->Live(now)) total++;
      }
      continue;
    }
    for (OrderedIndex::Pos p = start ? ix.LowerBound(*start) : ix.Begin(); !ix.AtEnd(p); ix.Next(&p)) {
      const Item* item = ix.At(p);
      if (end && CompareKeys(item->key(), *end) >= 0) break;
      if (item->Live(now)) total++;
    }
  }
  return total;
}

size_t Engine::Sweep(int64_t now, size_t budget) {
  std::lock_guard<std::mutex> l(sweep_mu_);
  size_t removed = 0;
  const size_t n = shard_mask_ + 1;
  for (size_t visited = 0; visited <= n && budget > 0; visited++) {
    Shard& shard = shards_[sweep_shard_];
    size_t examined = 0;
    bool wrapped = false;
    {
      std::unique_lock<std::shared_mutex> lock(shard.mu);
      removed += shard.Sweep(now, budget, &examined, &wrapped);
    }
    budget -= std::min(budget, examined);
    if (!wrapped) break;
    sweep_shard_ = (sweep_shard_ + 1) & shard_mask_;
  }
  return removed;
}

uint64_t Engine::NextLsn() const {
  std::lock_guard<std::mutex> lock(write_mu_);
  return next_lsn_;
}

EngineStats Engine::Stats() const {
  EngineStats st;
  const size_t n = shard_mask_ + 1;
  for (size_t i = 0; i < n; i++) {
    std::shared_lock<std::shared_mutex> lock(shards_[i].mu);
    st.keys += shards_[i].size();
    st.table_bytes += shards_[i].MemoryBytes();
  }
  st.next_lsn = NextLsn();
  st.durable_lsn = durable_lsn_.load();
  st.wal_bytes = wal_bytes_.load();
  {
    std::lock_guard<std::mutex> lock(seg_mu_);
    st.wal_segments = segments_.size();
  }
  st.last_checkpoint_lsn = last_checkpoint_lsn_.load();
  st.checkpoints = checkpoints_.load();
  st.fsyncs = fsyncs_.load();
  st.max_group_commit = max_group_commit_.load();
  st.fsync_buckets = fsync_hist_.Counts();
  st.fsync_micros = fsync_hist_.Sum();
  st.group_buckets = group_hist_.Counts();
  st.group_records = group_hist_.Sum();
  return st;
}

// ====================================================================== checkpoints

void Engine::CheckpointerMain() {
  std::unique_lock<std::mutex> lock(ckpt_thread_mu_);
  for (;;) {
    ckpt_cv_.wait(lock, [this] { return ckpt_stop_ || auto_checkpoint_requested_; });
    if (ckpt_stop_) return;
    auto_checkpoint_requested_ = false;
    lock.unlock();
    uint64_t redo;
    Status s = Checkpoint(last_now_.load(), &redo);
    if (!s.ok() && s.code() != Status::Code::kClosed) EmitLog("error", "automatic checkpoint failed: " + s.message());
    lock.lock();
  }
}

Status Engine::Checkpoint(int64_t now, uint64_t* redo_out) {
  std::lock_guard<std::mutex> ck(checkpoint_mu_);
  if (closed_) return Status::Closed("the store is closed");
  checkpoint_running_ = true;
  struct Running {
    std::atomic<bool>* flag;
    ~Running() { *flag = false; }
  } running{&checkpoint_running_};
  uint64_t redo;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    redo = applied_lsn_.load() + 1;
    rotate_requested_ = true;
    wal_since_checkpoint_ = 0;
  }
  SnapshotWriter w(base_dir_, redo);
  Status s = w.Open();
  if (!s.ok()) return s;
  const size_t n = shard_mask_ + 1;
  for (size_t i = 0; i < n; i++) {
    // A shard is copied in slices of kCheckpointSlice entries, each under its own short
    // shared lock (a writer to the shard waits for one slice, not the whole shard), and
    // resumed after the last key seen. What changes between slices was written at an LSN
    // >= redo, so replay from redo restores it whichever way the copy saw it.
    const Shard& shard = shards_[i];
    std::string resume;
    bool first = true;
    for (bool done = false; !done; first = false) {
      {
        std::shared_lock<std::shared_mutex> lock(shard.mu);
        const OrderedIndex& ix = shard.index();
        OrderedIndex::Pos p = first ? ix.Begin() : ix.LowerBound(resume);
        if (!first && !ix.AtEnd(p) && ix.At(p)->key() == resume) ix.Next(&p);
        const Item* last = nullptr;
        for (size_t k = 0; !ix.AtEnd(p) && k < kCheckpointSlice; ix.Next(&p), k++) {
          const Item* item = ix.At(p);
          last = item;
          // Expired entries are never written; newer ones are restored by replay from redo.
          if (!item->Live(now) || item->version >= redo) continue;
          w.Add(item->key(), item->value(), item->version, item->expires_at);
        }
        done = ix.AtEnd(p);
        if (!done) resume.assign(last->key_data(), last->klen);
      }
      s = w.MaybeFlush();
      if (!s.ok()) return s;
    }
  }
  s = w.Finish();
  if (!s.ok()) return s;
  // The copy skipped every entry whose version is >= redo, trusting replay to restore it.
  // Under interval/none the table holds writes the WAL may not have yet, so before the
  // snapshot becomes the recovery base, the WAL must hold (synced) every record the copy
  // could have seen; else a crash loses such a key's older value too (not a prefix).
  // Under `always` the table holds only synced records and this returns at once.
  s = SyncWalThrough(applied_lsn_.load());
  if (!s.ok()) return s;
  ControlData control;
  control.redo_lsn = redo;
  control.checkpoint_time_ms = static_cast<uint64_t>(WallClockMs());
  s = WriteControl(options_.dir, control);
  if (!s.ok()) return s;
  last_checkpoint_lsn_ = redo;
  checkpoints_++;
  s = DropBefore(redo);
  if (!s.ok()) return s;
  *redo_out = redo;
  return Status::Ok();
}

Status Engine::DropBefore(uint64_t redo) {
  std::vector<std::string> names;
  Status s = ListDir(base_dir_, &names);
  if (!s.ok()) return s;
  const std::string keep = SnapshotName(redo);
  for (const auto& n : names) {
    uint64_t r;
    bool snap = ParseSnapshotName(n, &r);
    bool tmp = n.size() > 9 && n.compare(n.size() - 9, 9, ".snap.tmp") == 0;
    if ((snap && n != keep) || tmp) {
      s = RemoveFile(JoinPath(base_dir_, n));
      if (!s.ok()) return s;
    }
  }
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(seg_mu_);
    std::vector<uint64_t> kept;
    for (size_t i = 0; i < segments_.size(); i++) {
      bool drop = i + 1 < segments_.size() && segments_[i + 1] <= redo && segments_[i] != current_segment_;
      (drop ? doomed : kept).push_back(segments_[i]);
    }
    segments_.swap(kept);
  }
  for (uint64_t first : doomed) {
    std::string path = JoinPath(wal_dir_, SegmentName(first));
    uint64_t size = 0;
    s = FileSize(path, &size);
    if (s.ok()) s = RemoveFile(path);
    if (!s.ok()) return s;
    wal_bytes_ -= std::min<uint64_t>(size, wal_bytes_.load());
  }
  return doomed.empty() ? Status::Ok() : FsyncDir(wal_dir_);
}

// ====================================================================== close

Status Engine::Close(bool final_checkpoint) {
  std::lock_guard<std::mutex> guard(close_mu_);
  if (closed_) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    closing_ = true;
    stop_ = true;
    flusher_cv_.notify_one();
  }
  if (flusher_.joinable()) flusher_.join();
  {
    std::lock_guard<std::mutex> lock(ckpt_thread_mu_);
    ckpt_stop_ = true;
    ckpt_cv_.notify_one();
  }
  if (checkpointer_.joinable()) checkpointer_.join();
  Status result;
  bool failed;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    failed = !failed_.ok();
  }
  uint64_t applied = applied_lsn_.load();
  if (final_checkpoint && !failed && applied > 0 && applied + 1 > last_checkpoint_lsn_.load()) {
    uint64_t redo;
    result = Checkpoint(last_now_.load(), &redo);
    if (!result.ok()) EmitLog("error", "checkpoint at close failed: " + result.message());
  }
  {
    // A checkpoint another thread started finishes before LOCK is released: once Close
    // returns, nothing of this engine writes to the directory again (a later one sees
    // closed_ under the same mutex and returns Closed).
    std::lock_guard<std::mutex> ck(checkpoint_mu_);
    closed_ = true;
  }
  Status s = segment_.Close(!failed);
  if (result.ok() && !failed) result = s;
  ReleaseLock();
  return result;
}

}  // namespace kvstore

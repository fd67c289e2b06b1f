// The flusher thread: takes what the write path framed into buf_, writes it to the current
// segment (rotating segments where the write path marked it), fdatasyncs as the
// durability policy asks (and always for replicated records), applies what waited for
// that sync (`always` writes, replicated records) and reports the durable, flushed and
// applied LSNs to listeners. One thread; the only writer of segment_ and synced_lsn_.
#include <algorithm>
#include <chrono>
#include <deque>

#include "engine.h"

namespace kvstore {
namespace {

// Under interval/none the flusher hands buffered records to the kernel (without syncing)
// every kWritePeriod, or as soon as kWakeBytes are buffered, and reports them as the
// durable LSN of those policies: the store's backpressure waits on it.
constexpr auto kWritePeriod = std::chrono::milliseconds(10);

}  // namespace

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
  uint64_t emitted_flushed = synced_lsn_.load();
  std::unique_lock<std::mutex> lock(write_mu_);
  for (;;) {
    // ---- wait for work
    for (;;) {
      if (stop_ || flush_requested_ || force_sync_) break;
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
    bool force_sync = force_sync_;
    force_sync_ = false;
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
    // Close, a checkpoint's SyncWalThrough (a flush request) and replicated records sync
    // even under `none`.
    bool want_sync = (sync && options_.durability != Durability::kNone) || stopping || force_sync || flush_requested;
    if (s.ok() && want_sync && unsynced_records > 0) {
      s = timed_sync();
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
    if (group_size > max_group_commit_.load()) max_group_commit_ = group_size;
    if (group_size > 0) group_hist_.Add(group_size, kGroupBounds);
    bool advanced = group_size > 0 && written_lsn > durable_lsn_.load();
    bool applied_any = false;
    if (synced) {
      synced_lsn_.store(written_lsn, std::memory_order_release);
      applied_any = ApplySynced(written_lsn, &lock);
    }
    if (advanced) durable_lsn_.store(written_lsn, std::memory_order_release);
    uint64_t flushed = synced_lsn_.load();
    if (advanced || flushed > emitted_flushed || applied_any) {
      emitted_flushed = flushed;
      EngineEvent ev;
      ev.type = EngineEvent::Type::kDurable;
      ev.durable_lsn = durable_lsn_.load();
      ev.flushed_lsn = flushed;
      ev.applied_lsn = applied_lsn_.load();
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

bool Engine::ApplySynced(uint64_t synced, std::unique_lock<std::mutex>* lock) {
  // Apply what the sync covered, in LSN order, then drop the pending refs to it.
  std::deque<StagedRecord> done;
  lock->lock();
  while (!staged_.empty() && staged_.front().lsn <= synced) {
    done.push_back(std::move(staged_.front()));
    staged_.pop_front();
  }
  lock->unlock();
  if (done.empty()) return false;
  for (const StagedRecord& rec : done) {
    ApplyStaged(rec);
    applied_lsn_.store(rec.lsn, std::memory_order_release);
  }
  lock->lock();
  for (const StagedRecord& rec : done) {
    for (const StagedChange& c : rec.changes) {
      auto it = pending_.find(c.key);
      if (it != pending_.end() && it->second.lsn == rec.lsn) pending_.erase(it);
    }
  }
  lock->unlock();
  return true;
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
    // Every record before the new segment's first is in the one just synced and closed.
    if (first_lsn - 1 > synced_lsn_.load()) synced_lsn_.store(first_lsn - 1, std::memory_order_release);
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
  ev.flushed_lsn = synced_lsn_.load();
  ev.applied_lsn = applied_lsn_.load();
  ev.error_code = "IO_ERROR";
  ev.message = s.message();
  Emit(ev);
  std::lock_guard<std::mutex> lock(write_mu_);
  failure_emitted_ = true;
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
  while (durable_lsn_.load() < target && !failure_emitted_ && !stop_) {
    flush_requested_ = true;
    flusher_idle_ = false;
    flusher_cv_.notify_one();
    durable_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

}  // namespace kvstore

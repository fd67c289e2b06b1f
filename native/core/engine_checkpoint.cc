// Fuzzy checkpoints (docs/on-disk-format.md, "Checkpoint"): the table is copied shard by
// shard while writes go on, then control names the new snapshot and what it makes
// obsolete (older snapshots, segments wholly before its redo LSN) is deleted. Automatic
// checkpoints run on their own thread.
#include <algorithm>
#include <chrono>

#include "control_file.h"
#include "engine.h"
#include "snapshot.h"

namespace kvstore {
namespace {

// Entries a checkpoint copies under one shard lock.
constexpr size_t kCheckpointSlice = 1024;

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
  last_checkpoint_time_ms_ = control.checkpoint_time_ms;
  checkpoints_++;
  s = DropBefore(redo);
  if (!s.ok()) return s;
  *redo_out = redo;
  return Status::Ok();
}

uint64_t Engine::RetainWal(uint64_t lsn) {
  std::lock_guard<std::mutex> lock(seg_mu_);
  uint64_t token = next_retain_token_++;
  retained_[token] = lsn;
  return token;
}

void Engine::ReleaseWal(uint64_t token) {
  std::lock_guard<std::mutex> lock(seg_mu_);
  retained_.erase(token);
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
    // A retained LSN (RetainWal) keeps its segment and every later one.
    uint64_t keep_from = redo;
    for (const auto& [token, lsn] : retained_) keep_from = std::min(keep_from, lsn);
    std::vector<uint64_t> kept;
    for (size_t i = 0; i < segments_.size(); i++) {
      bool drop = i + 1 < segments_.size() && segments_[i + 1] <= keep_from && segments_[i] != current_segment_;
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

}  // namespace kvstore

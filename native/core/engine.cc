// Engine lifecycle (open, close), listeners and statistics. The rest of the Engine lives
// beside it, one concept per file:
//   engine_recovery.cc    control file, snapshot and WAL replay at open
//   engine_apply.cc       ApplyRecord: the one way a WAL record reaches the table
//   engine_write.cc       the write path: conditions, LSN assignment, record framing
//   engine_flusher.cc     the flusher thread: group commit, segment rotation, fdatasync
//   engine_read.cc        scans, counts and TTL sweeps
//   engine_checkpoint.cc  fuzzy checkpoints and dropping what they make obsolete
#include "engine.h"

#include <mutex>

#include "dir_lock.h"

namespace kvstore {


Engine::Engine(const EngineOptions& options)
    : options_(options),
      wal_dir_(JoinPath(options.dir, "wal")),
      base_dir_(JoinPath(options.dir, "base")),
      shards_(std::make_unique<Shard[]>(options.shards)),
      shard_mask_(options.shards - 1),
      role_(options.role) {}

Engine::~Engine() {
  Close(false);
}

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

// ====================================================================== statistics

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
  st.flushed_lsn = synced_lsn_.load();
  st.applied_lsn = applied_lsn_.load();
  st.role = role_.load();
  st.wal_bytes = wal_bytes_.load();
  {
    std::lock_guard<std::mutex> lock(seg_mu_);
    st.wal_segments = segments_.size();
  }
  st.last_checkpoint_lsn = last_checkpoint_lsn_.load();
  st.last_checkpoint_time_ms = last_checkpoint_time_ms_.load();
  st.checkpoints = checkpoints_.load();
  st.fsyncs = fsyncs_.load();
  st.max_group_commit = max_group_commit_.load();
  st.fsync_buckets = fsync_hist_.Counts();
  st.fsync_micros = fsync_hist_.Sum();
  st.group_buckets = group_hist_.Counts();
  st.group_records = group_hist_.Sum();
  return st;
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
    std::lock_guard<std::mutex> lock(write_mu_);
    flusher_done_ = true;  // WaitApplied stops waiting
    durable_cv_.notify_all();
  }
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

// The standby side of replication (docs/replication.md): records streamed from a primary
// are checked whole, written at their own LSNs through the same flusher as local writes
// (group commit, always fdatasynced) and, once synced, applied through ApplyRecord, the
// function recovery replays the WAL with. Promote() turns the standby into a primary.
#include <chrono>
#include <string>
#include <vector>

#include "engine.h"
#include "wal_format.h"

namespace kvstore {

Status Engine::AppendReplicated(std::string_view records, uint64_t first_lsn, uint64_t* last_lsn) {
  if (records.empty()) return Status::InvalidArgument("no records to append");
  // Check every record before taking the lock or touching any state (the CRCs are the
  // expensive part). starts[i] = offset of record i within `records`.
  std::vector<size_t> starts;
  std::vector<Change> scratch;
  uint64_t expect = first_lsn;
  size_t at = 0;
  while (at < records.size()) {
    RecordView r;
    ReadResult rr = ReadRecord(records, at, &r);
    if (rr != ReadResult::kOk) {
      return Status::BadRecord("replicated record at offset " + std::to_string(at) + " is not valid (" +
                               ReadResultName(rr) + ")");
    }
    if (r.lsn > kMaxLsn) {
      return Status::BadRecord("replicated record at offset " + std::to_string(at) + " carries LSN " + std::to_string(r.lsn) +
                               ", past the last one a record may get");
    }
    if (r.lsn != expect) {
      return Status::LsnMismatch("replicated record at offset " + std::to_string(at) + " carries LSN " +
                                 std::to_string(r.lsn) + " where " + std::to_string(expect) + " was expected");
    }
    if (r.kind < kKindFirstSkippable) {
      std::string why;
      if (!DecodeBody(r.kind, r.body, &scratch, &why)) {
        return Status::BadRecord("replicated record " + std::to_string(r.lsn) + ": " + why);
      }
    }
    starts.push_back(at);
    expect++;
    at = r.next;
  }

  std::lock_guard<std::mutex> lock(write_mu_);
  if (closing_ || closed_) return Status::Closed("the store is closed");
  if (!failed_.ok()) return Status::IoError(failed_.message());
  if (role_.load() != Role::kStandby || promoting_) {
    return Status::NotStandby("only a standby appends replicated records");
  }
  if (first_lsn != next_lsn_) {
    return Status::LsnMismatch("replicated records start at LSN " + std::to_string(first_lsn) +
                               " but this standby's next LSN is " + std::to_string(next_lsn_));
  }
  // Segment rotation bookkeeping, record by record, as BeginRecordLocked does for local
  // writes: a received record goes where a local one of the same size would.
  const size_t base = buf_.size();
  for (size_t i = 0; i < starts.size(); i++) {
    uint64_t rec = (i + 1 < starts.size() ? starts[i + 1] : records.size()) - starts[i];
    if (virtual_segment_bytes_ > 0 &&
        (rotate_requested_ || virtual_segment_bytes_ + rec > options_.wal_segment_bytes)) {
      rotations_.emplace_back(base + starts[i], first_lsn + i);
      virtual_segment_bytes_ = 0;
    }
    rotate_requested_ = false;
    virtual_segment_bytes_ += rec;
  }
  buf_.append(records);
  buf_records_ += starts.size();
  *last_lsn = expect - 1;
  next_lsn_ = expect;
  staged_.push_back(StagedRecord{*last_lsn, {}, std::string(records)});
  force_sync_ = true;
  if (flusher_idle_) {
    flusher_idle_ = false;
    flusher_cv_.notify_one();
  }
  return Status::Ok();
}

Status Engine::WaitApplied(uint64_t lsn) {
  std::unique_lock<std::mutex> lock(write_mu_);
  while (applied_lsn_.load() < lsn) {
    if (!failed_.ok()) return Status::IoError(failed_.message());
    if (flusher_done_) return Status::Closed("the store closed before LSN " + std::to_string(lsn) + " was applied");
    durable_cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

Status Engine::Promote() {
  uint64_t target;
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (closing_ || closed_) return Status::Closed("the store is closed");
    if (role_.load() != Role::kStandby || promoting_) return Status::NotStandby("only a standby can be promoted");
    promoting_ = true;
    target = next_lsn_ - 1;
  }
  // No record arrives any more (promoting_), and client writes are still refused: once
  // everything received is applied, local writes continue the log in LSN order.
  Status s = WaitApplied(target);
  std::lock_guard<std::mutex> lock(write_mu_);
  promoting_ = false;
  if (s.ok()) role_.store(Role::kPrimary);
  return s;
}

WalPositions Engine::Positions() const {
  WalPositions p;
  p.applied_lsn = applied_lsn_.load();
  p.flushed_lsn = synced_lsn_.load();
  p.durable_lsn = durable_lsn_.load();
  p.next_lsn = NextLsn();
  return p;
}

}  // namespace kvstore

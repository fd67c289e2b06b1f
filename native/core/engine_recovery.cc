// Recovery at open: the control file names the newest checkpoint; its snapshot is loaded
// and every WAL record from its redo LSN on is replayed through ApplyRecord. Torn tails
// and corruption are handled as docs/on-disk-format.md ("Recovery") says.
#include <fcntl.h>

#include <algorithm>
#include <cstddef>

#include "control_file.h"
#include "engine.h"
#include "snapshot.h"
#include "wal_format.h"

namespace kvstore {

Status Engine::Recover(std::vector<LogLine>* logs) {
  uint64_t redo = 1;
  ControlData control;
  bool have_control = false;
  Status s = ReadControl(options_.dir, &have_control, &control);
  if (!s.ok()) return s;
  if (have_control) {
    redo = control.redo_lsn;
    last_checkpoint_lsn_ = redo;
    last_checkpoint_time_ms_ = control.checkpoint_time_ms;
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
  std::string last_written;  // the newest segment with records
  for (const auto& n : names) {
    uint64_t first;
    if (!ParseSegmentName(n, &first)) continue;
    uint64_t size;
    s = FileSize(JoinPath(wal_dir_, n), &size);
    if (!s.ok()) return s;
    segments_.push_back(first);
    total += size;
    if (size > 0) last_written = n;
  }
  // The last process may have died with records written but not synced (interval/none,
  // or a kill between write and fdatasync). They were replayed, so they count as flushed
  // from here on (ReadWal may stream them): sync them first. Older segments were synced
  // when the writer moved past them.
  if (!last_written.empty()) {
    std::string path = JoinPath(wal_dir_, last_written);
    UniqueFd fd;
    s = OpenFile(path, O_RDONLY, 0, &fd);
    if (s.ok()) s = FdataSync(fd.get(), path);
    if (s.ok()) s = fd.Close(path);
    if (!s.ok()) return s;
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
      if (r.lsn >= redo) {
        Status applied = ApplyRecord(r.lsn, r.kind, r.body, &changes);
        if (!applied.ok()) {
          s = CorruptAt(file, at, applied.message(), later, logs, &stop);
          if (!s.ok()) return s;
          break;
        }
      }
      have_expected = true;
      expected = r.lsn + 1;
      at = r.next;
    }
  }
  *next_lsn = have_expected && expected > redo ? expected : redo;
  return Status::Ok();
}

}  // namespace kvstore

// Snapshot files base/snapshot-<16 hex redo>.snap (layout in wal_format.h).
#ifndef KVSTORE_CORE_SNAPSHOT_H_
#define KVSTORE_CORE_SNAPSHOT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "file_util.h"
#include "status.h"

namespace kvstore {

std::string SnapshotName(uint64_t redo_lsn);
bool ParseSnapshotName(const std::string& name, uint64_t* redo_lsn);

// Writes <final>.tmp entry by entry, then Finish() completes header and trailer, fsyncs,
// renames it to `final_path` and fsyncs the directory. Abandoning it (destructor without
// Finish) removes the .tmp file. Not thread-safe.
class SnapshotWriter {
 public:
  SnapshotWriter(std::string base_dir, uint64_t redo_lsn);
  ~SnapshotWriter();
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  Status Open();
  // Appends into the in-memory chunk; REQUIRES Open() succeeded. Cheap enough to call
  // under a shard lock (no I/O); call MaybeFlush() after releasing it.
  void Add(std::string_view key, std::string_view value, uint64_t version, uint64_t expires_at);
  Status MaybeFlush();
  Status Finish();

  uint64_t count() const { return count_; }
  const std::string& final_path() const { return final_path_; }

 private:
  Status Flush();

  std::string base_dir_;
  uint64_t redo_lsn_;
  std::string final_path_;
  std::string tmp_path_;
  UniqueFd fd_;
  std::string chunk_;
  uint64_t pos_ = 0;
  uint64_t count_ = 0;
  bool opened_ = false;
  bool finished_ = false;
};

// Loads base_dir/SnapshotName(redo): checks magic, trailer, CRC, format version and redo
// LSN, then calls `sink` for every entry (views valid only during the call). Any
// mismatch is Corruption naming the file.
using SnapshotSink = std::function<void(std::string_view key, std::string_view value,
                                        uint64_t version, uint64_t expires_at)>;
Status LoadSnapshot(const std::string& base_dir, uint64_t redo_lsn, const SnapshotSink& sink);
// The checks and decoding of LoadSnapshot over a snapshot already in memory; `path` only
// names it in errors. Never reads outside buf, whatever its bytes (fuzzed: native/fuzz).
Status DecodeSnapshot(std::string_view buf, uint64_t redo_lsn, const std::string& path, const SnapshotSink& sink);

}  // namespace kvstore

#endif  // KVSTORE_CORE_SNAPSHOT_H_

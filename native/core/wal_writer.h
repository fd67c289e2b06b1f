// Framing WAL records into a buffer, and the segment file they are written to.
#ifndef KVSTORE_CORE_WAL_WRITER_H_
#define KVSTORE_CORE_WAL_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "file_util.h"
#include "status.h"

namespace kvstore {

// Reserves a record header at the end of *dst and returns its offset; append the body to
// *dst, then call FinishRecord with that offset to fill in length, LSN, kind and CRC.
size_t BeginRecord(std::string* dst);
void FinishRecord(std::string* dst, size_t start, uint64_t lsn, uint8_t kind);

// Appends a PUT/INCR body (klen · vlen · expiresAt · key · value) or a DELETE body.
void AppendPutBody(std::string* dst, std::string_view key, std::string_view value, uint64_t expires_at);
void AppendDeleteBody(std::string* dst, std::string_view key);

// wal/<16 hex>.wal for the segment whose first record has `first_lsn`.
std::string SegmentName(uint64_t first_lsn);
// Parses a segment file name; false if `name` is not one.
bool ParseSegmentName(const std::string& name, uint64_t* first_lsn);

// The current WAL segment file. Not thread-safe: owned by the flusher thread (and by
// open/close, which run while no flusher exists).
class WalSegment {
 public:
  // Opens (creating, or appending to an existing file) wal_dir/SegmentName(first_lsn)
  // and fsyncs the directory.
  Status Open(const std::string& wal_dir, uint64_t first_lsn);
  Status Append(const char* data, size_t n);
  Status Sync();
  // Closes the segment; `sync` first fdatasyncs it.
  Status Close(bool sync);

  bool is_open() const { return fd_.valid(); }
  uint64_t first_lsn() const { return first_lsn_; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  UniqueFd fd_;
  std::string path_;
  uint64_t first_lsn_ = 0;
  uint64_t size_ = 0;
};

}  // namespace kvstore

#endif  // KVSTORE_CORE_WAL_WRITER_H_

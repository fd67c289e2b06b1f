// Reading WAL records and decoding their bodies (format: wal_format.h). Pure functions
// over an in-memory segment; recovery (engine_recovery.cc) decides what a failure means.
#ifndef KVSTORE_CORE_WAL_READER_H_
#define KVSTORE_CORE_WAL_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvstore {

// One decoded change. Views point into the decoded body.
struct Change {
  bool is_put;
  std::string_view key;
  std::string_view value;  // empty for deletes
  uint64_t expires_at;     // 0 for deletes
};

enum class ReadResult {
  kOk,
  kEnd,     // `at` is exactly the end of the buffer
  kShort,   // the header or body runs past the end of the buffer
  kZero,    // zeroed space or a kind-0 record
  kCrc,     // CRC mismatch
  kLength,  // length field above kMaxRecordBody
};

const char* ReadResultName(ReadResult r);

struct RecordView {
  uint64_t lsn;
  uint8_t kind;
  std::string_view body;
  size_t next;  // offset just past the record
};

// Reads the record at `at`, checking its length and CRC; does not interpret the body.
ReadResult ReadRecord(std::string_view buf, size_t at, RecordView* out);

// True if a valid record carrying exactly `lsn` starts anywhere in buf at or after `from`.
bool ValidRecordAfter(std::string_view buf, size_t from, uint64_t lsn);

// Decodes a PUT, DELETE, INCR or BATCH body into `out` (cleared first). On a malformed
// byte returns false with the reason in *why; the body must be consumed exactly.
bool DecodeBody(uint8_t kind, std::string_view body, std::vector<Change>* out, std::string* why);

}  // namespace kvstore

#endif  // KVSTORE_CORE_WAL_READER_H_

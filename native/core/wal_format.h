// Byte layout of WAL records, snapshots and the control file (format version 1), shared
// by every reader and writer in the core. The prose spec with a worked example is
// docs/on-disk-format.md; ts/engine/format.ts mirrors these constants. All integers are
// little-endian; every CRC is CRC-32C (crc32c.h).
//
// WAL record:
//   offset size
//   0      4    crc     CRC-32C of bytes [4, 17 + length): length, lsn, kind, body
//   4      4    length  body length (0 .. kMaxRecordBody)
//   8      8    lsn     1, 2, 3, ... with no gaps across segments
//   16     1    kind    RecordKind below
//   17     n    body
//   PUT / INCR body: klen u32 · vlen u32 · expiresAt u64 · key · value
//   DELETE body:     klen u32 · key
//   BATCH body:      count u32 · count × (op kind u8 (PUT or DELETE) · that op's body)
// Kind 0 is never written: zeroed space reads as kind 0 and ends the log. Kinds 5..127
// make an old reader refuse to open; kinds 128..255 are skipped (the LSN still advances).
//
// Snapshot base/snapshot-<16 hex redo>.snap:
//   header  magic "KVSNAP\0\1" · formatVersion u32 · reserved u32 · redoLsn u64 · count u64
//   entries klen u32 · vlen u32 · version u64 · expiresAt u64 · key · value
//   trailer crc u32 (of header + entries) · magic u32 "KEND"
//
// Control file `control`:
//   magic "KVCTRL\0\1" · formatVersion u32 · catalogVersion u32 · redoLsn u64
//   · checkpointTimeMs u64 · crc u32 (of bytes [0, 32))
#ifndef KVSTORE_CORE_WAL_FORMAT_H_
#define KVSTORE_CORE_WAL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace kvstore {

enum RecordKind : uint8_t {
  kKindReserved = 0,
  kKindPut = 1,
  kKindDelete = 2,
  kKindIncr = 3,
  kKindBatch = 4,
  // Kinds >= this are optional: a reader that does not know them skips the body.
  kKindFirstSkippable = 128,
};

constexpr size_t kRecordHeaderSize = 4 + 4 + 8 + 1;
constexpr uint32_t kMaxRecordBody = 256u * 1024 * 1024;
// The last LSN a record may get. LSNs are record versions, and a version must fit a signed
// 64-bit integer (ifVersion takes -1 for "unconditional"), so writes stop with LsnExhausted
// here, long before the uint64 counter could wrap. ts/engine/format.ts MAX_LSN is the same.
constexpr uint64_t kMaxLsn = 0x7fffffffffffffffULL;
constexpr uint32_t kMaxKeyBytes = 4096;
constexpr uint32_t kMaxValueBytes = 16u * 1024 * 1024;

constexpr size_t kPutFixedSize = 4 + 4 + 8;
constexpr size_t kDeleteFixedSize = 4;
constexpr size_t kBatchFixedSize = 4;

constexpr char kSnapshotMagic[8] = {'K', 'V', 'S', 'N', 'A', 'P', '\0', '\1'};
constexpr size_t kSnapshotHeaderSize = 8 + 4 + 4 + 8 + 8;
constexpr size_t kSnapshotEntryFixedSize = 4 + 4 + 8 + 8;
constexpr size_t kSnapshotTrailerSize = 4 + 4;
constexpr uint32_t kSnapshotEndMagic = 0x444E454B;  // "KEND"

constexpr char kControlMagic[8] = {'K', 'V', 'C', 'T', 'R', 'L', '\0', '\1'};
constexpr size_t kControlSize = 8 + 4 + 4 + 8 + 8 + 4;
constexpr size_t kControlCrcOffset = 8 + 4 + 4 + 8 + 8;

constexpr uint32_t kFormatVersion = 1;

}  // namespace kvstore

#endif  // KVSTORE_CORE_WAL_FORMAT_H_

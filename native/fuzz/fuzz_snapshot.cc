// Fuzz target: the snapshot decoder. The redo LSN it is checked against is taken from the
// input's own header (so inputs get past that check); every entry handed to the sink must
// be in range, and an accepted snapshot re-encodes to exactly its bytes.
#include <cstdint>
#include <cstring>
#include <string>

#include "coding.h"
#include "crc32c.h"
#include "fuzz_util.h"
#include "snapshot.h"
#include "wal_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvstore;
  using fuzz::Require;
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  uint64_t redo = size >= 24 ? DecodeFixed64(buf.data() + 16) : 1;
  std::string again(buf.substr(0, std::min<size_t>(size, kSnapshotHeaderSize)));
  uint64_t entries = 0;
  Status s = DecodeSnapshot(buf, redo, "snapshot", [&](std::string_view k, std::string_view v, uint64_t ver, uint64_t exp) {
    Require(k.size() >= 1 && k.size() <= kMaxKeyBytes, "key length out of range");
    Require(v.size() <= kMaxValueBytes, "value length out of range");
    Require(ver >= 1 && ver < redo, "version out of range");
    Require(k.data() >= buf.data() && v.data() + v.size() <= buf.data() + size, "entry outside the input");
    char fixed[kSnapshotEntryFixedSize];
    EncodeFixed32(fixed, static_cast<uint32_t>(k.size()));
    EncodeFixed32(fixed + 4, static_cast<uint32_t>(v.size()));
    EncodeFixed64(fixed + 8, ver);
    EncodeFixed64(fixed + 16, exp);
    again.append(fixed, sizeof(fixed));
    again.append(k);
    again.append(v);
    entries++;
  });
  if (s.ok()) {
    Require(entries == DecodeFixed64(buf.data() + 24), "entry count mismatch");
    char trailer[kSnapshotTrailerSize];
    EncodeFixed32(trailer, Crc32c(again.data(), again.size()));
    EncodeFixed32(trailer + 4, kSnapshotEndMagic);
    again.append(trailer, sizeof(trailer));
    Require(again == buf, "accepted snapshot does not re-encode to its bytes");
  } else {
    Require(s.code() == Status::Code::kCorruption, "bad snapshot bytes must be Corruption");
  }
  return 0;
}

// Fuzz target: the WAL record reader and body decoder (wal_reader.h). The input is read
// as a segment, record by record, and also decoded directly as a body of every kind (so
// the decoder is reached without the fuzzer having to forge CRCs). Whatever the bytes:
// no out-of-bounds read, no unbounded allocation, and anything accepted re-encodes to
// exactly the bytes it came from (nothing is silently reinterpreted).
#include <cstdint>
#include <string>
#include <vector>

#include "coding.h"
#include "fuzz_util.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

using fuzz::Require;

std::string Reencode(uint8_t kind, const std::vector<Change>& changes) {
  std::string out;
  if (kind == kKindBatch) PutFixed32(&out, static_cast<uint32_t>(changes.size()));
  for (const Change& c : changes) {
    Require(c.key.size() >= 1 && c.key.size() <= kMaxKeyBytes, "decoded key length out of range");
    Require(c.value.size() <= kMaxValueBytes, "decoded value length out of range");
    if (kind == kKindBatch) out.push_back(static_cast<char>(c.is_put ? kKindPut : kKindDelete));
    if (c.is_put) {
      AppendPutBody(&out, c.key, c.value, c.expires_at);
    } else {
      AppendDeleteBody(&out, c.key);
    }
  }
  return out;
}

void CheckBody(uint8_t kind, std::string_view body) {
  std::vector<Change> changes;
  std::string why;
  if (DecodeBody(kind, body, &changes, &why)) {
    Require(kind == kKindPut || kind == kKindIncr || kind == kKindDelete || kind == kKindBatch, "unknown kind accepted");
    Require(kind == kKindBatch || changes.size() == 1, "a single-change record decoded to several");
    for (const Change& c : changes) Require(c.is_put == (kind != kKindDelete) || kind == kKindBatch, "kind mismatch");
    Require(Reencode(kind, changes) == body, "decoded body does not re-encode to its bytes");
  } else {
    Require(!why.empty(), "a refused body must say why");
  }
}

}  // namespace
}  // namespace kvstore

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvstore;
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  uint64_t last_lsn = 0;
  for (;;) {
    RecordView r;
    ReadResult rr = ReadRecord(buf, at, &r);
    if (rr != ReadResult::kOk) {
      Require(rr != ReadResult::kEnd || at == size, "kEnd before the end");
      if (rr != ReadResult::kEnd) ValidRecordAfter(buf, at + 1, last_lsn + 1);
      break;
    }
    Require(r.next > at && r.next <= size, "record end out of bounds");
    Require(r.next - at == kRecordHeaderSize + r.body.size(), "record size mismatch");
    // Framing the same body again gives the same bytes.
    std::string again;
    size_t start = BeginRecord(&again);
    again.append(r.body);
    FinishRecord(&again, start, r.lsn, r.kind);
    Require(again == buf.substr(at, r.next - at), "record does not re-frame to its bytes");
    if (r.kind < kKindFirstSkippable) CheckBody(r.kind, r.body);
    last_lsn = r.lsn;
    at = r.next;
  }
  if (size > 0) {
    CheckBody(static_cast<uint8_t>(data[0] % 6), buf.substr(1));
  }
  return 0;
}

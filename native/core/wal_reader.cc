#include "wal_reader.h"

#include "coding.h"
#include "crc32c.h"
#include "wal_format.h"

namespace kvstore {
namespace {

constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;  // JS Number.MAX_SAFE_INTEGER

bool ReadPut(std::string_view body, size_t* at, Change* c, std::string* why) {
  if (*at + kPutFixedSize > body.size()) {
    *why = "PUT body too short";
    return false;
  }
  const char* p = body.data() + *at;
  uint32_t klen = DecodeFixed32(p);
  uint32_t vlen = DecodeFixed32(p + 4);
  uint64_t exp = DecodeFixed64(p + 8);
  size_t start = *at + kPutFixedSize;
  if (klen < 1 || klen > kMaxKeyBytes || vlen > kMaxValueBytes ||
      start + klen + vlen > body.size()) {
    *why = "PUT lengths out of range";
    return false;
  }
  if (exp > kMaxSafeInteger) {
    *why = "expiresAt out of range";
    return false;
  }
  c->is_put = true;
  c->key = body.substr(start, klen);
  c->value = body.substr(start + klen, vlen);
  c->expires_at = exp;
  *at = start + klen + vlen;
  return true;
}

bool ReadDelete(std::string_view body, size_t* at, Change* c, std::string* why) {
  if (*at + kDeleteFixedSize > body.size()) {
    *why = "DELETE body too short";
    return false;
  }
  uint32_t klen = DecodeFixed32(body.data() + *at);
  size_t start = *at + kDeleteFixedSize;
  if (klen < 1 || klen > kMaxKeyBytes || start + klen > body.size()) {
    *why = "DELETE key length out of range";
    return false;
  }
  c->is_put = false;
  c->key = body.substr(start, klen);
  c->value = std::string_view();
  c->expires_at = 0;
  *at = start + klen;
  return true;
}

}  // namespace

const char* ReadResultName(ReadResult r) {
  switch (r) {
    case ReadResult::kOk: return "ok";
    case ReadResult::kEnd: return "end";
    case ReadResult::kShort: return "short";
    case ReadResult::kZero: return "zero";
    case ReadResult::kCrc: return "crc";
    case ReadResult::kLength: return "length";
  }
  return "?";
}

ReadResult ReadRecord(std::string_view buf, size_t at, RecordView* out) {
  if (at == buf.size()) return ReadResult::kEnd;
  if (at + kRecordHeaderSize > buf.size()) return ReadResult::kShort;
  const char* p = buf.data() + at;
  uint32_t crc = DecodeFixed32(p);
  uint32_t len = DecodeFixed32(p + 4);
  uint8_t kind = static_cast<uint8_t>(p[16]);
  if (kind == kKindReserved && crc == 0 && len == 0) return ReadResult::kZero;
  if (len > kMaxRecordBody) return ReadResult::kLength;
  size_t end = at + kRecordHeaderSize + len;
  if (end > buf.size()) return ReadResult::kShort;
  if (Crc32c(p + 4, kRecordHeaderSize - 4 + len) != crc) return ReadResult::kCrc;
  if (kind == kKindReserved) return ReadResult::kZero;
  out->lsn = DecodeFixed64(p + 8);
  out->kind = kind;
  out->body = buf.substr(at + kRecordHeaderSize, len);
  out->next = end;
  return ReadResult::kOk;
}

bool ValidRecordAfter(std::string_view buf, size_t from, uint64_t lsn) {
  RecordView r;
  for (size_t at = from; at + kRecordHeaderSize <= buf.size(); at++) {
    if (DecodeFixed64(buf.data() + at + 8) != lsn) continue;
    if (ReadRecord(buf, at, &r) == ReadResult::kOk) return true;
  }
  return false;
}

bool DecodeBody(uint8_t kind, std::string_view body, std::vector<Change>* out, std::string* why) {
  out->clear();
  size_t at = 0;
  Change c;
  switch (kind) {
    case kKindPut:
    case kKindIncr:
      if (!ReadPut(body, &at, &c, why)) return false;
      out->push_back(c);
      break;
    case kKindDelete:
      if (!ReadDelete(body, &at, &c, why)) return false;
      out->push_back(c);
      break;
    case kKindBatch: {
      if (body.size() < kBatchFixedSize) {
        *why = "BATCH body too short";
        return false;
      }
      uint32_t count = DecodeFixed32(body.data());
      // The smallest op is a DELETE of a 1-byte key: a count that cannot fit is refused
      // before it sizes an allocation.
      constexpr size_t kMinOpBytes = 1 + kDeleteFixedSize + 1;
      if (count > (body.size() - kBatchFixedSize) / kMinOpBytes) {
        *why = "BATCH count out of range";
        return false;
      }
      out->reserve(count);
      at = kBatchFixedSize;
      for (uint32_t i = 0; i < count; i++) {
        if (at >= body.size()) {
          *why = "BATCH truncated";
          return false;
        }
        uint8_t op = static_cast<uint8_t>(body[at++]);
        bool ok;
        if (op == kKindPut) {
          ok = ReadPut(body, &at, &c, why);
        } else if (op == kKindDelete) {
          ok = ReadDelete(body, &at, &c, why);
        } else {
          *why = "BATCH op kind " + std::to_string(op) + " unknown";
          return false;
        }
        if (!ok) return false;
        out->push_back(c);
      }
      break;
    }
    default:
      *why = "unsupported record kind " + std::to_string(kind);
      return false;
  }
  if (at != body.size()) {
    *why = "trailing bytes after record body";
    return false;
  }
  return true;
}

}  // namespace kvstore

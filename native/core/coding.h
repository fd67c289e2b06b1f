// Little-endian fixed-width encoding helpers (x86_64 and every other supported target is
// little-endian; memcpy keeps the accesses alignment-safe).
#ifndef KVSTORE_CORE_CODING_H_
#define KVSTORE_CORE_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>

namespace kvstore {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian");

inline void EncodeFixed32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void EncodeFixed64(char* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void PutFixed32(std::string* s, uint32_t v) { s->append(reinterpret_cast<char*>(&v), 4); }
inline void PutFixed64(std::string* s, uint64_t v) { s->append(reinterpret_cast<char*>(&v), 8); }

// 16 lowercase hex digits, as in WAL segment and snapshot names.
inline std::string Hex16(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; i--, v >>= 4) out[i] = kDigits[v & 0xF];
  return out;
}

}  // namespace kvstore

#endif  // KVSTORE_CORE_CODING_H_

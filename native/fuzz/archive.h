// The recovery fuzzer's input format: a whole data directory in one byte string.
//   byte 0    flags: bit 0 truncateCorruptTail, bits 1-2 log2(shards)
//   entries   type u8 · number u64 · length u32 · bytes (length clamped to what is left)
//   type % 4: 0 control · 1 base/snapshot-<number>.snap · 2 wal/<number>.wal
//             · 3 base/snapshot-<number>.snap.tmp (a checkpoint that never finished)
// At most kMaxFiles entries are unpacked. make_corpus.cc packs real stores this way.
#ifndef KVSTORE_FUZZ_ARCHIVE_H_
#define KVSTORE_FUZZ_ARCHIVE_H_

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "coding.h"
#include "snapshot.h"
#include "wal_writer.h"

namespace kvstore {
namespace fuzz {

constexpr size_t kMaxFiles = 16;
constexpr size_t kEntryHeader = 1 + 8 + 4;

struct Unpacked {
  bool truncate_corrupt_tail = false;
  uint32_t shards = 1;
};

inline std::string PathFor(uint8_t type, uint64_t number) {
  switch (type % 4) {
    case 0: return "control";
    case 1: return "base/" + SnapshotName(number);
    case 2: return "wal/" + SegmentName(number);
    default: return "base/" + SnapshotName(number) + ".tmp";
  }
}

// Writes the archive's files into dir (which must hold nothing else).
inline Unpacked Unpack(std::string_view in, const std::string& dir) {
  Unpacked u;
  std::filesystem::create_directories(dir + "/wal");
  std::filesystem::create_directories(dir + "/base");
  if (in.empty()) return u;
  uint8_t flags = static_cast<uint8_t>(in[0]);
  u.truncate_corrupt_tail = (flags & 1) != 0;
  u.shards = 1u << ((flags >> 1) & 3);
  size_t at = 1;
  for (size_t n = 0; n < kMaxFiles && at + kEntryHeader <= in.size(); n++) {
    uint8_t type = static_cast<uint8_t>(in[at]);
    uint64_t number = DecodeFixed64(in.data() + at + 1);
    uint64_t len = DecodeFixed32(in.data() + at + 9);
    at += kEntryHeader;
    len = std::min<uint64_t>(len, in.size() - at);
    std::ofstream out(dir + "/" + PathFor(type, number), std::ios::binary | std::ios::trunc);
    out.write(in.data() + at, static_cast<std::streamsize>(len));
    at += static_cast<size_t>(len);
  }
  return u;
}

inline void AppendEntry(std::string* out, uint8_t type, uint64_t number, const std::string& bytes) {
  out->push_back(static_cast<char>(type));
  PutFixed64(out, number);
  PutFixed32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes);
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Packs control, snapshots and segments of a real data directory.
inline std::string Pack(const std::string& dir, uint8_t flags) {
  std::string out(1, static_cast<char>(flags));
  std::error_code ec;
  if (std::filesystem::exists(dir + "/control", ec)) AppendEntry(&out, 0, 0, ReadAll(dir + "/control"));
  for (const auto& e : std::filesystem::directory_iterator(dir + "/base", ec)) {
    uint64_t n;
    if (ParseSnapshotName(e.path().filename().string(), &n)) AppendEntry(&out, 1, n, ReadAll(e.path().string()));
  }
  for (const auto& e : std::filesystem::directory_iterator(dir + "/wal", ec)) {
    uint64_t n;
    if (ParseSegmentName(e.path().filename().string(), &n)) AppendEntry(&out, 2, n, ReadAll(e.path().string()));
  }
  return out;
}

}  // namespace fuzz
}  // namespace kvstore

#endif  // KVSTORE_FUZZ_ARCHIVE_H_

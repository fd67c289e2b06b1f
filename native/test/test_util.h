// Helpers shared by the native core's tests: a temporary directory that cleans up after
// itself, file fixtures (leveldb-style: set a byte, shrink a file), and the whole visible
// state of an engine as a std::map for comparisons.
#ifndef KVSTORE_TEST_TEST_UTIL_H_
#define KVSTORE_TEST_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "engine.h"
#include "file_util.h"

namespace kvstore {
namespace testing {

// mkdtemp under $TMPDIR (or /tmp); removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/kvstore-native-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void SetByte(const std::string& path, size_t offset, char value) {
  std::string s = ReadFile(path);
  ASSERT_LT(offset, s.size());
  s[offset] = value;
  WriteFile(path, s);
}

inline void ShrinkFile(const std::string& path, size_t by) {
  std::string s = ReadFile(path);
  ASSERT_LE(by, s.size());
  s.resize(s.size() - by);
  WriteFile(path, s);
}

// Names in dir (not recursive), sorted; empty if dir is missing.
inline std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct Value {
  std::string value;
  uint64_t version = 0;
  uint64_t expires_at = 0;
  bool operator==(const Value& o) const {
    return std::tie(value, version, expires_at) == std::tie(o.value, o.version, o.expires_at);
  }
};
using State = std::map<std::string, Value>;

inline std::ostream& operator<<(std::ostream& os, const Value& v) {
  return os << "{" << v.value.substr(0, 40) << " @" << v.version << " exp " << v.expires_at << "}";
}

// Everything a full forward scan sees at `now` (also checks the scan is strictly ordered).
inline State Dump(const Engine& e, int64_t now = 0) {
  State out;
  std::string prev;
  bool have_prev = false;
  e.Scan(std::nullopt, std::nullopt, 0, false, now, [&](const Item& item) {
    std::string k(item.key());
    EXPECT_TRUE(!have_prev || prev < k) << "scan out of order: " << prev << " then " << k;
    prev = k;
    have_prev = true;
    out[k] = Value{std::string(item.value()), item.version, item.expires_at};
  });
  return out;
}

inline std::string Get(const Engine& e, const std::string& key, int64_t now = 0) {
  std::string out = "<absent>";
  e.Read(key, now, [&](const Item& item) { out.assign(item.value()); });
  return out;
}

inline EngineOptions Options(const std::string& dir, Durability d = Durability::kAlways) {
  EngineOptions o;
  o.dir = dir;
  o.shards = 8;
  o.durability = d;
  o.interval_ms = 5;
  o.wal_segment_bytes = 64 * 1024;
  return o;
}

inline std::unique_ptr<Engine> MustOpen(const EngineOptions& o, std::vector<LogLine>* logs = nullptr) {
  std::vector<LogLine> local;
  std::unique_ptr<Engine> e;
  Status s = Engine::Open(o, logs != nullptr ? logs : &local, &e);
  EXPECT_TRUE(s.ok()) << s.message();
  return e;
}

}  // namespace testing
}  // namespace kvstore

#endif  // KVSTORE_TEST_TEST_UTIL_H_

// Fuzz target: recovery over a whole fuzzed data directory (format: archive.h). Engine::Open
// must either fail with Corruption or open; an opened store must scan in order, count what
// it scans, reopen to the very same state (recovery is idempotent: whatever it repaired
// stays repaired), and keep a write made after recovery at the LSN it was given.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "archive.h"
#include "engine.h"
#include "fuzz_util.h"

namespace kvstore {
namespace {

using fuzz::Require;
using State = std::map<std::string, std::tuple<std::string, uint64_t, uint64_t>>;

State Dump(const Engine& e) {
  State out;
  std::string prev;
  bool first = true;
  e.Scan(std::nullopt, std::nullopt, 0, false, 0, [&](const Item& item) {
    std::string k(item.key());
    Require(first || prev < k, "scan out of order");
    Require(item.version >= 1, "an entry with version 0");
    first = false;
    prev = k;
    out[k] = std::make_tuple(std::string(item.value()), item.version, item.expires_at);
  });
  Require(e.Count(std::nullopt, std::nullopt, 0) == out.size(), "count differs from the scan");
  return out;
}

// A scratch directory for the whole process (tmpfs when there is one: every open syncs),
// removed at exit.
class WorkDir {
 public:
  WorkDir() {
    std::string base = std::filesystem::is_directory("/dev/shm") && ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    const char* env = std::getenv("TMPDIR");
    if (env != nullptr && *env != '\0') base = env;
    std::string tmpl = base + "/kvstore-fuzz-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    Require(::mkdtemp(buf.data()) != nullptr, "mkdtemp");
    path_ = buf.data();
  }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Status OpenIt(const EngineOptions& o, std::unique_ptr<Engine>* e) {
  std::vector<LogLine> logs;
  return Engine::Open(o, &logs, e);
}

}  // namespace
}  // namespace kvstore

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvstore;
  static const WorkDir work;
  const std::string dir = work.path() + "/data";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  fuzz::Unpacked u = fuzz::Unpack(std::string_view(reinterpret_cast<const char*>(data), size), dir);

  EngineOptions o;
  o.dir = dir;
  o.shards = u.shards;
  o.durability = Durability::kNone;
  o.truncate_corrupt_tail = u.truncate_corrupt_tail;
  std::unique_ptr<Engine> e;
  Status s = OpenIt(o, &e);
  if (!s.ok()) {
    Require(s.code() == Status::Code::kCorruption, "recovery failed with something other than Corruption");
    return 0;
  }
  State first = Dump(*e);
  uint64_t next = e->NextLsn();
  Require(next >= 1, "next LSN 0");
  for (const auto& [k, v] : first) Require(std::get<1>(v) < next, "an entry newer than the next LSN");
  Require(e->Close(false).ok(), "close after recovery failed");
  e.reset();

  s = OpenIt(o, &e);
  Require(s.ok(), "a store that recovered once does not reopen");
  Require(Dump(*e) == first, "reopening gave another state");
  Require(e->NextLsn() == next, "reopening gave another next LSN");

  uint64_t lsn = 0;
  s = e->Put("fuzz-probe", "after recovery", 0, -1, 0, &lsn);
  Require(s.ok(), "a write after recovery failed");
  Require(lsn == next, "the write after recovery did not get the next LSN");
  Require(e->Close(false).ok(), "close after a write failed");
  e.reset();

  s = OpenIt(o, &e);
  Require(s.ok(), "a store does not reopen after a write following recovery");
  State want = first;
  want["fuzz-probe"] = std::make_tuple(std::string("after recovery"), lsn, uint64_t{0});
  Require(Dump(*e) == want, "the write after recovery did not survive reopening");
  e.reset();
  return 0;
}

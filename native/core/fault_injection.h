// Test-only fault injection for the checked file calls in file_util.cc: make open, write,
// fdatasync/fsync, rename, directory fsync or unlink fail (or the process die) at the Nth
// matching call. Compiled in only when KVSTORE_FAULT_INJECTION is defined, which only the
// ctest build does (native/test/CMakeLists.txt); in the addon every hook below is an
// inline no-op returning "no fault", so release code pays nothing.
//
// Why a compile-time hook rather than an LD_PRELOAD shim: the hook sees the core's own
// notion of an operation (a directory fsync is not a file fsync; a WAL append is one
// WriteAll however many write(2) calls it takes) and the path it is for, works the same
// under every sanitizer (an interposing shim fights ASan/TSan's own interceptors), and
// needs no second shared object in the build.
#ifndef KVSTORE_CORE_FAULT_INJECTION_H_
#define KVSTORE_CORE_FAULT_INJECTION_H_

#include <cstdint>
#include <string>

namespace kvstore {
namespace fault {

enum class Op { kOpen, kWrite, kSync, kRename, kSyncDir, kUnlink };

enum class Action {
  kFail,       // the call fails with `err` and does nothing
  kShortFail,  // write only: the first half of the bytes reach the file, then `err`
  kCrash,      // the process ends at once with _exit(kCrashExitCode): a crash at that point
};

constexpr int kCrashExitCode = 86;

struct Rule {
  Op op = Op::kWrite;
  uint64_t nth = 1;           // fire on the nth matching call after Arm (1 = the next one)
  int err = 5;                // EIO
  std::string path_contains;  // only calls whose path contains this (empty: any path)
  Action action = Action::kFail;
  bool sticky = false;        // once fired, every later matching call fails too
};

// What a hooked call must do: err == 0 means go on normally.
struct Hit {
  int err = 0;
  bool short_write = false;
};

#ifdef KVSTORE_FAULT_INJECTION
// Adds a rule (rules are independent; each counts its own matching calls). Thread-safe.
void Arm(const Rule& rule);
// Removes every rule and resets the counters.
void Disarm();
// How many hooked calls have failed since the last Disarm.
uint64_t Fired();
// The hook every wrapper in file_util.cc calls first. May not return (kCrash).
Hit Check(Op op, const std::string& path);
#else
inline Hit Check(Op, const std::string&) { return Hit{}; }
#endif

}  // namespace fault
}  // namespace kvstore

#endif  // KVSTORE_CORE_FAULT_INJECTION_H_

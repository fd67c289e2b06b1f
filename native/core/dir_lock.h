// DirLock: exclusive ownership of a data directory through <dir>/LOCK, shared by both
// engines (ts/engine/js/lock.ts implements the same protocol without flock):
//
//   - LOCK exists only while a process holds the directory, and holds that process's
//     decimal pid and "\n". It is created with O_EXCL, so of processes opening at the
//     same instant exactly one creates it.
//   - The native engine also holds flock(LOCK_EX) on it, so another native opener learns
//     "held" from the kernel without trusting the pid.
//   - A LOCK that exists but is stale (no flock, and a dead pid, garbage, or empty for
//     longer than a creator needs to write its pid) may be removed only by the process
//     that created <dir>/LOCK.break (O_EXCL), after checking that the path still names
//     the very inode and content it judged stale. A LOCK.break older than 5 s was left by
//     a process that died while breaking and is removed.
//   - Release unlinks LOCK (while still flocked), then closes it.
#ifndef KVSTORE_CORE_DIR_LOCK_H_
#define KVSTORE_CORE_DIR_LOCK_H_

#include <string>

#include "file_util.h"
#include "status.h"

namespace kvstore {

class DirLock {
 public:
  DirLock() = default;
  DirLock(DirLock&&) = default;
  DirLock& operator=(DirLock&&) = default;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() { Release(); }

  // Locked (naming the holder's pid when known) or IoError.
  static Status Acquire(const std::string& dir, DirLock* out);
  // Unlinks LOCK and drops the flock. Idempotent; errors are ignored (nothing can be done
  // about them, and the flock goes with the descriptor anyway).
  void Release();
  bool held() const { return fd_.valid(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace kvstore

#endif  // KVSTORE_CORE_DIR_LOCK_H_

#include "dir_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

namespace kvstore {
namespace {

constexpr auto kEmptyGrace = std::chrono::milliseconds(200);
constexpr auto kBreakStale = std::chrono::seconds(5);
constexpr int kMaxAttempts = 2000;

using Clock = std::chrono::steady_clock;

// What LOCK says: -1 empty, 0 garbage, else the pid.
long ParsePid(const std::string& text) {
  if (text.empty()) return -1;
  long pid = 0;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
    if (pid > 100000000) return 0;
    pid = pid * 10 + (text[i] - '0');
  }
  if (i == 0) return 0;
  if (i < text.size() && !(i + 1 == text.size() && text[i] == '\n')) return 0;
  return pid;
}

// open(2) keeping errno apart from the Status text: 0 on success, else the errno.
int OpenRaw(const std::string& path, int flags, int mode, UniqueFd* out) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  *out = UniqueFd(fd);
  return 0;
}

bool Alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

Status ReadFd(int fd, const std::string& path, std::string* out) {
  char buf[64];
  out->clear();
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out->size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (n == 0) return Status::Ok();
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > 256) return Status::Ok();  // garbage either way
  }
}

Status Locked(const std::string& dir, long pid) {
  if (pid > 0) return Status::Locked(dir + " is in use by process " + std::to_string(pid) + " (LOCK)");
  return Status::Locked(dir + " is in use by another process (LOCK)");
}

// Removes `path` if, under LOCK.break, it still is inode `ino` with content `text`.
Status BreakStale(const std::string& path, ino_t ino, const std::string& text) {
  const std::string breaker = path + ".break";
  UniqueFd b;
  if (int err = OpenRaw(breaker, O_WRONLY | O_CREAT | O_EXCL, 0600, &b); err != 0) {
    if (err != EEXIST) return ErrnoStatus("open", breaker, err);
    struct stat st;
    if (::stat(breaker.c_str(), &st) == 0) {
      auto age = std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime);
      if (age > kBreakStale) ::unlink(breaker.c_str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return Status::Ok();
  }
  b.Close(breaker);
  UniqueFd fd;
  Status r;
  if (int err = OpenRaw(path, O_RDONLY, 0, &fd); err == 0) {
    struct stat st;
    std::string now;
    if (::fstat(fd.get(), &st) == 0 && st.st_ino == ino && ReadFd(fd.get(), path, &now).ok() && now == text) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) r = ErrnoStatus("unlink", path, errno);
    }
  } else if (err != ENOENT) {
    r = ErrnoStatus("open", path, err);
  }
  ::unlink(breaker.c_str());
  return r;
}

}  // namespace

Status DirLock::Acquire(const std::string& dir, DirLock* out) {
  const std::string path = JoinPath(dir, "LOCK");
  // The stale candidate first seen empty, and since when (an opener between its O_EXCL
  // create and its pid write shows an empty LOCK for a moment).
  ino_t empty_ino = 0;
  Clock::time_point empty_since;
  for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
    UniqueFd fd;
    int err = OpenRaw(path, O_RDWR | O_CREAT | O_EXCL, 0600, &fd);
    Status s;
    if (err == 0) {
      // Ours. flock first (a native peer then sees it held at once), then the pid. Blocking:
      // a peer judging the new file may hold a shared flock for the length of one read.
      int rc;
      do {
        rc = ::flock(fd.get(), LOCK_EX);
      } while (rc != 0 && errno == EINTR);
      if (rc != 0) {
        int e = errno;
        ::unlink(path.c_str());
        return ErrnoStatus("flock", path, e);
      }
      std::string mine = std::to_string(::getpid()) + "\n";
      s = PwriteAll(fd.get(), mine.data(), mine.size(), 0, path);
      if (s.ok()) s = Fsync(fd.get(), path);
      if (s.ok()) s = FsyncDir(dir);
      if (!s.ok()) {
        ::unlink(path.c_str());
        return s;
      }
      out->Release();
      out->path_ = path;
      out->fd_ = std::move(fd);
      return Status::Ok();
    }
    if (err != EEXIST) return ErrnoStatus("open", path, err);
    // It exists: who holds it?
    err = OpenRaw(path, O_RDONLY, 0, &fd);
    if (err == ENOENT) continue;  // released meanwhile
    if (err != 0) return ErrnoStatus("open", path, err);
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return ErrnoStatus("flock", path, errno);
      std::string text;
      s = ReadFd(fd.get(), path, &text);
      return Locked(dir, s.ok() ? ParsePid(text) : 0);  // a native holder
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path, errno);
    std::string text;
    s = ReadFd(fd.get(), path, &text);
    if (!s.ok()) return s;
    fd = UniqueFd();  // drop our shared flock before judging (a native creator needs LOCK_EX)
    long pid = ParsePid(text);
    if (pid > 0 && Alive(pid)) return Locked(dir, pid);  // a pure-TS holder (or this process)
    if (pid == -1) {
      if (empty_ino != st.st_ino) {
        empty_ino = st.st_ino;
        empty_since = Clock::now();
      }
      if (Clock::now() - empty_since < kEmptyGrace) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
    }
    s = BreakStale(path, st.st_ino, text);
    if (!s.ok()) return s;
  }
  return Locked(dir, 0);
}

void DirLock::Release() {
  if (!fd_.valid()) return;
  ::unlink(path_.c_str());  // while still flocked: no native peer can judge it stale
  fd_ = UniqueFd();
}

}  // namespace kvstore

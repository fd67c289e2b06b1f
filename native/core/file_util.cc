#include "file_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fault_injection.h"

#ifdef KVSTORE_FAULT_INJECTION
#include <mutex>
#include <vector>
#endif

namespace kvstore {

#ifdef KVSTORE_FAULT_INJECTION
namespace fault {
namespace {

struct Armed {
  Rule rule;
  uint64_t seen = 0;
  bool fired = false;
};

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}
std::vector<Armed>& Rules() {
  static std::vector<Armed> rules;
  return rules;
}
uint64_t fired_count = 0;  // guarded by Mu()

}  // namespace

void Arm(const Rule& rule) {
  std::lock_guard<std::mutex> l(Mu());
  Rules().push_back(Armed{rule});
}

void Disarm() {
  std::lock_guard<std::mutex> l(Mu());
  Rules().clear();
  fired_count = 0;
}

uint64_t Fired() {
  std::lock_guard<std::mutex> l(Mu());
  return fired_count;
}

Hit Check(Op op, const std::string& path) {
  std::lock_guard<std::mutex> l(Mu());
  for (Armed& a : Rules()) {
    if (a.rule.op != op) continue;
    if (!a.rule.path_contains.empty() && path.find(a.rule.path_contains) == std::string::npos) continue;
    a.seen++;
    if (a.seen < a.rule.nth || (a.fired && !a.rule.sticky)) continue;
    a.fired = true;
    fired_count++;
    if (a.rule.action == Action::kCrash) ::_exit(kCrashExitCode);
    return Hit{a.rule.err, a.rule.action == Action::kShortFail};
  }
  return Hit{};
}

}  // namespace fault
#endif  // KVSTORE_FAULT_INJECTION

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

Status UniqueFd::Close(const std::string& path) {
  if (fd_ < 0) return Status::Ok();
  int fd = Release();
  if (::close(fd) != 0) return ErrnoStatus("close", path, errno);
  return Status::Ok();
}

Status ErrnoStatus(const std::string& op, const std::string& path, int err) {
  return Status::IoError(op + " " + path + ": " + std::strerror(err));
}

Status OpenFile(const std::string& path, int flags, int mode, UniqueFd* out) {
  if (fault::Hit f = fault::Check(fault::Op::kOpen, path); f.err != 0) return ErrnoStatus("open", path, f.err);
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  *out = UniqueFd(fd);
  return Status::Ok();
}

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  if (fault::Hit f = fault::Check(fault::Op::kWrite, path); f.err != 0) {
    if (f.short_write && n > 1) {
      Status s = WriteAll(fd, data, n / 2, path + " (the half before an injected fault)");
      if (!s.ok()) return s;
    }
    return ErrnoStatus("write", path, f.err);
  }
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path) {
  if (fault::Hit f = fault::Check(fault::Op::kWrite, path); f.err != 0) {
    if (f.short_write && n > 1) {
      Status s = PwriteAll(fd, data, n / 2, offset, path + " (the half before an injected fault)");
      if (!s.ok()) return s;
    }
    return ErrnoStatus("pwrite", path, f.err);
  }
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pwrite", path, errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status PreadAll(int fd, char* data, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, data, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pread", path, errno);
    }
    if (r == 0) return Status::IoError("pread " + path + ": unexpected end of file");
    data += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Status PreadUpTo(int fd, char* data, size_t n, uint64_t offset, const std::string& path, size_t* got) {
  *got = 0;
  while (*got < n) {
    ssize_t r = ::pread(fd, data + *got, n - *got, static_cast<off_t>(offset + *got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pread", path, errno);
    }
    if (r == 0) break;
    *got += static_cast<size_t>(r);
  }
  return Status::Ok();
}

Status FdataSync(int fd, const std::string& path) {
  if (fault::Hit f = fault::Check(fault::Op::kSync, path); f.err != 0) return ErrnoStatus("fdatasync", path, f.err);
  if (::fdatasync(fd) != 0) return ErrnoStatus("fdatasync", path, errno);
  return Status::Ok();
}

Status Fsync(int fd, const std::string& path) {
  if (fault::Hit f = fault::Check(fault::Op::kSync, path); f.err != 0) return ErrnoStatus("fsync", path, f.err);
  if (::fsync(fd) != 0) return ErrnoStatus("fsync", path, errno);
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  if (fault::Hit f = fault::Check(fault::Op::kSyncDir, dir); f.err != 0) return ErrnoStatus("fsync", dir, f.err);
  UniqueFd fd;
  Status s = OpenFile(dir, O_RDONLY | O_DIRECTORY, 0, &fd);
  if (!s.ok()) return s;
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", dir, errno);
  return fd.Close(dir);
}

Status ReadWholeFile(const std::string& path, std::string* out) {
  UniqueFd fd;
  Status s = OpenFile(path, O_RDONLY, 0, &fd);
  if (!s.ok()) return s;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path, errno);
  out->resize(static_cast<size_t>(st.st_size));
  if (!out->empty()) {
    s = PreadAll(fd.get(), out->data(), out->size(), 0, path);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Status FileExists(const std::string& path, bool* exists) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    *exists = true;
    return Status::Ok();
  }
  if (errno == ENOENT) {
    *exists = false;
    return Status::Ok();
  }
  return ErrnoStatus("stat", path, errno);
}

Status FileSize(const std::string& path, uint64_t* size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
  *size = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  return ErrnoStatus("mkdir", path, errno);
}

Status ListDir(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), &::closedir);
  if (!d) return ErrnoStatus("opendir", dir, errno);
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d.get());
    if (e == nullptr) {
      if (errno != 0) return ErrnoStatus("readdir", dir, errno);
      break;
    }
    std::string name = e->d_name;
    if (name != "." && name != "..") names->push_back(std::move(name));
  }
  return Status::Ok();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (fault::Hit f = fault::Check(fault::Op::kRename, from); f.err != 0) {
    return ErrnoStatus("rename", from + " -> " + to, f.err);
  }
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from + " -> " + to, errno);
  return Status::Ok();
}

Status RemoveFile(const std::string& path) {
  if (fault::Hit f = fault::Check(fault::Op::kUnlink, path); f.err != 0) return ErrnoStatus("unlink", path, f.err);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", path, errno);
  return Status::Ok();
}

Status TruncateFile(const std::string& path, uint64_t size) {
  UniqueFd fd;
  Status s = OpenFile(path, O_RDWR, 0, &fd);
  if (!s.ok()) return s;
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return ErrnoStatus("ftruncate", path, errno);
  s = Fsync(fd.get(), path);
  if (!s.ok()) return s;
  return fd.Close(path);
}

Status RealPath(const std::string& path, std::string* out) {
  std::unique_ptr<char, void (*)(void*)> p(::realpath(path.c_str(), nullptr), &std::free);
  if (!p) return ErrnoStatus("realpath", path, errno);
  *out = p.get();
  return Status::Ok();
}

Status MakeDirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i == path.size() || path[i] == '/') {
      Status s = MakeDir(path.substr(0, i));
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

bool ParseHex16(const char* p, uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 16; i++) {
    char c = p[i];
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace kvstore

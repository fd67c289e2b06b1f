// Thin, checked wrappers over the POSIX file calls the core uses. Every failure becomes a
// Status::IoError naming the operation, the path and strerror(errno).
#ifndef KVSTORE_CORE_FILE_UTIL_H_
#define KVSTORE_CORE_FILE_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace kvstore {

// Owns a file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  // Closes now and reports a close() error (ignored by the destructor).
  Status Close(const std::string& path);

 private:
  int fd_ = -1;
};

Status ErrnoStatus(const std::string& op, const std::string& path, int err);

Status OpenFile(const std::string& path, int flags, int mode, UniqueFd* out);
Status WriteAll(int fd, const char* data, size_t n, const std::string& path);
Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path);
Status PreadAll(int fd, char* data, size_t n, uint64_t offset, const std::string& path);
// Reads up to n bytes at offset, fewer only at end of file; *got = how many.
Status PreadUpTo(int fd, char* data, size_t n, uint64_t offset, const std::string& path, size_t* got);
Status FdataSync(int fd, const std::string& path);
Status Fsync(int fd, const std::string& path);
Status FsyncDir(const std::string& dir);
Status ReadWholeFile(const std::string& path, std::string* out);
Status FileExists(const std::string& path, bool* exists);
Status FileSize(const std::string& path, uint64_t* size);
Status MakeDir(const std::string& path);  // OK when it exists already
Status MakeDirs(const std::string& path);  // MakeDir of every prefix of path, like mkdir -p
Status ListDir(const std::string& dir, std::vector<std::string>* names);
Status RenameFile(const std::string& from, const std::string& to);
Status RemoveFile(const std::string& path);
Status TruncateFile(const std::string& path, uint64_t size);  // and fsync it
Status RealPath(const std::string& path, std::string* out);

// Parses exactly 16 lowercase hex digits (file names of segments and snapshots).
bool ParseHex16(const char* p, uint64_t* out);

inline std::string JoinPath(const std::string& a, const std::string& b) { return a + "/" + b; }

}  // namespace kvstore

#endif  // KVSTORE_CORE_FILE_UTIL_H_

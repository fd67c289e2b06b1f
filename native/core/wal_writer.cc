#include "wal_writer.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "coding.h"
#include "crc32c.h"
#include "wal_format.h"

namespace kvstore {

size_t BeginRecord(std::string* dst) {
  size_t start = dst->size();
  dst->append(kRecordHeaderSize, '\0');
  return start;
}

void FinishRecord(std::string* dst, size_t start, uint64_t lsn, uint8_t kind) {
  char* p = dst->data() + start;
  size_t body = dst->size() - start - kRecordHeaderSize;
  EncodeFixed32(p + 4, static_cast<uint32_t>(body));
  EncodeFixed64(p + 8, lsn);
  p[16] = static_cast<char>(kind);
  EncodeFixed32(p, Crc32c(p + 4, kRecordHeaderSize - 4 + body));
}

void AppendPutBody(std::string* dst, std::string_view key, std::string_view value, uint64_t expires_at) {
  char fixed[kPutFixedSize];
  EncodeFixed32(fixed, static_cast<uint32_t>(key.size()));
  EncodeFixed32(fixed + 4, static_cast<uint32_t>(value.size()));
  EncodeFixed64(fixed + 8, expires_at);
  dst->append(fixed, kPutFixedSize);
  dst->append(key);
  dst->append(value);
}

void AppendDeleteBody(std::string* dst, std::string_view key) {
  PutFixed32(dst, static_cast<uint32_t>(key.size()));
  dst->append(key);
}

std::string SegmentName(uint64_t first_lsn) { return Hex16(first_lsn) + ".wal"; }

bool ParseSegmentName(const std::string& name, uint64_t* first_lsn) {
  if (name.size() != 16 + 4 || name.compare(16, 4, ".wal") != 0) return false;
  return ParseHex16(name.data(), first_lsn);
}

Status WalSegment::Open(const std::string& wal_dir, uint64_t first_lsn) {
  std::string path = JoinPath(wal_dir, SegmentName(first_lsn));
  UniqueFd fd;
  Status s = OpenFile(path, O_WRONLY | O_CREAT | O_APPEND, 0600, &fd);
  if (!s.ok()) return s;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", path, errno);
  s = FsyncDir(wal_dir);
  if (!s.ok()) return s;
  fd_ = std::move(fd);
  path_ = std::move(path);
  first_lsn_ = first_lsn;
  size_ = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

Status WalSegment::Append(const char* data, size_t n) {
  Status s = WriteAll(fd_.get(), data, n, path_);
  // Whatever part was written counts: a failed write leaves the engine failed anyway.
  if (s.ok()) size_ += n;
  return s;
}

Status WalSegment::Sync() { return FdataSync(fd_.get(), path_); }

Status WalSegment::Close(bool sync) {
  if (!fd_.valid()) return Status::Ok();
  Status s = sync ? Sync() : Status::Ok();
  Status c = fd_.Close(path_);
  return s.ok() ? c : s;
}

}  // namespace kvstore

#include "snapshot.h"

#include <fcntl.h>

#include <cstring>
#include <vector>

#include "coding.h"
#include "crc32c.h"
#include "wal_format.h"

namespace kvstore {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

std::string SnapshotName(uint64_t redo_lsn) { return "snapshot-" + Hex16(redo_lsn) + ".snap"; }

bool ParseSnapshotName(const std::string& name, uint64_t* redo_lsn) {
  const std::string prefix = "snapshot-";
  if (name.size() != prefix.size() + 16 + 5 || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(prefix.size() + 16, 5, ".snap") != 0) {
    return false;
  }
  return ParseHex16(name.data() + prefix.size(), redo_lsn);
}

SnapshotWriter::SnapshotWriter(std::string base_dir, uint64_t redo_lsn)
    : base_dir_(std::move(base_dir)),
      redo_lsn_(redo_lsn),
      final_path_(JoinPath(base_dir_, SnapshotName(redo_lsn))),
      tmp_path_(final_path_ + ".tmp") {}

SnapshotWriter::~SnapshotWriter() {
  // Abandoned (an error anywhere, even after the descriptor was closed, e.g. a failed
  // rename): the .tmp must not outlive it. Errors are ignored: nothing more can be done.
  if (!finished_ && opened_) {
    fd_.Close(tmp_path_);
    RemoveFile(tmp_path_);
  }
}

Status SnapshotWriter::Open() {
  Status s = OpenFile(tmp_path_, O_RDWR | O_CREAT | O_TRUNC, 0600, &fd_);
  if (!s.ok()) return s;
  opened_ = true;
  chunk_.reserve(kChunkBytes + 64 * 1024);
  chunk_.assign(kSnapshotHeaderSize, '\0');  // completed by Finish()
  return Status::Ok();
}

void SnapshotWriter::Add(std::string_view key, std::string_view value, uint64_t version, uint64_t expires_at) {
  char fixed[kSnapshotEntryFixedSize];
  EncodeFixed32(fixed, static_cast<uint32_t>(key.size()));
  EncodeFixed32(fixed + 4, static_cast<uint32_t>(value.size()));
  EncodeFixed64(fixed + 8, version);
  EncodeFixed64(fixed + 16, expires_at);
  chunk_.append(fixed, kSnapshotEntryFixedSize);
  chunk_.append(key);
  chunk_.append(value);
  count_++;
}

Status SnapshotWriter::MaybeFlush() { return chunk_.size() >= kChunkBytes ? Flush() : Status::Ok(); }

Status SnapshotWriter::Flush() {
  Status s = PwriteAll(fd_.get(), chunk_.data(), chunk_.size(), pos_, tmp_path_);
  if (!s.ok()) return s;
  pos_ += chunk_.size();
  chunk_.clear();
  return Status::Ok();
}

Status SnapshotWriter::Finish() {
  Status s = Flush();
  if (!s.ok()) return s;
  char header[kSnapshotHeaderSize];
  std::memcpy(header, kSnapshotMagic, 8);
  EncodeFixed32(header + 8, kFormatVersion);
  EncodeFixed32(header + 12, 0);
  EncodeFixed64(header + 16, redo_lsn_);
  EncodeFixed64(header + 24, count_);
  s = PwriteAll(fd_.get(), header, kSnapshotHeaderSize, 0, tmp_path_);
  if (!s.ok()) return s;
  // The CRC covers the header, whose count is known only now: read the file back (it is
  // in the page cache) rather than hold a copy of the table in memory.
  std::vector<char> buf(kChunkBytes);
  uint32_t crc = 0;
  for (uint64_t off = 0; off < pos_;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), pos_ - off));
    s = PreadAll(fd_.get(), buf.data(), n, off, tmp_path_);
    if (!s.ok()) return s;
    crc = Crc32cExtend(crc, buf.data(), n);
    off += n;
  }
  char trailer[kSnapshotTrailerSize];
  EncodeFixed32(trailer, crc);
  EncodeFixed32(trailer + 4, kSnapshotEndMagic);
  s = PwriteAll(fd_.get(), trailer, kSnapshotTrailerSize, pos_, tmp_path_);
  if (s.ok()) s = Fsync(fd_.get(), tmp_path_);
  if (s.ok()) s = fd_.Close(tmp_path_);
  if (s.ok()) s = RenameFile(tmp_path_, final_path_);
  if (s.ok()) s = FsyncDir(base_dir_);
  if (s.ok()) finished_ = true;
  return s;
}

Status LoadSnapshot(const std::string& base_dir, uint64_t redo_lsn, const SnapshotSink& sink) {
  std::string path = JoinPath(base_dir, SnapshotName(redo_lsn));
  std::string buf;
  Status s = ReadWholeFile(path, &buf);
  if (!s.ok()) return Status::Corruption(path + ": snapshot named by control is missing (" + s.message() + ")");
  return DecodeSnapshot(buf, redo_lsn, path, sink);
}

Status DecodeSnapshot(std::string_view buf, uint64_t redo_lsn, const std::string& path, const SnapshotSink& sink) {
  auto bad = [&path](const std::string& why) { return Status::Corruption("snapshot " + path + ": " + why); };
  if (buf.size() < kSnapshotHeaderSize + kSnapshotTrailerSize || std::memcmp(buf.data(), kSnapshotMagic, 8) != 0) {
    return bad("bad header");
  }
  const char* p = buf.data();
  size_t end = buf.size() - kSnapshotTrailerSize;
  if (DecodeFixed32(p + end + 4) != kSnapshotEndMagic) return bad("bad trailer (incomplete file?)");
  if (Crc32c(p, end) != DecodeFixed32(p + end)) return bad("CRC mismatch");
  if (DecodeFixed32(p + 8) != kFormatVersion) return bad("unsupported format version");
  if (DecodeFixed64(p + 16) != redo_lsn) return bad("redo LSN does not match control");
  uint64_t count = DecodeFixed64(p + 24);
  // Every entry takes at least kSnapshotEntryFixedSize + 1 bytes: a larger count is a lie
  // (checked first, so a corrupt count can never drive a long loop or an allocation).
  if (count > (end - kSnapshotHeaderSize) / (kSnapshotEntryFixedSize + 1)) {
    return bad("entry count " + std::to_string(count) + " does not fit the file");
  }
  size_t at = kSnapshotHeaderSize;
  for (uint64_t n = 0; n < count; n++) {
    if (at + kSnapshotEntryFixedSize > end) return bad("entry " + std::to_string(n) + " truncated");
    uint32_t klen = DecodeFixed32(p + at);
    uint32_t vlen = DecodeFixed32(p + at + 4);
    uint64_t version = DecodeFixed64(p + at + 8);
    uint64_t expires_at = DecodeFixed64(p + at + 16);
    size_t k = at + kSnapshotEntryFixedSize;
    if (klen == 0 || klen > kMaxKeyBytes || vlen > kMaxValueBytes || k + klen + vlen > end ||
        version == 0 || version >= redo_lsn) {
      return bad("entry " + std::to_string(n) + " out of range");
    }
    sink(std::string_view(p + k, klen), std::string_view(p + k + klen, vlen), version, expires_at);
    at = k + klen + vlen;
  }
  if (at != end) return bad("trailing bytes after the last entry");
  return Status::Ok();
}

}  // namespace kvstore

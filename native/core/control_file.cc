#include "control_file.h"

#include <fcntl.h>

#include <cstring>

#include "coding.h"
#include "crc32c.h"
#include "file_util.h"
#include "wal_format.h"

namespace kvstore {

Status ReadControl(const std::string& dir, bool* exists, ControlData* out) {
  std::string path = JoinPath(dir, "control");
  Status s = FileExists(path, exists);
  if (!s.ok() || !*exists) return s;
  std::string buf;
  s = ReadWholeFile(path, &buf);
  if (!s.ok()) return s;
  if (buf.size() != kControlSize) {
    return Status::Corruption(path + ": control is " + std::to_string(buf.size()) +
                              " bytes, expected " + std::to_string(kControlSize));
  }
  if (std::memcmp(buf.data(), kControlMagic, 8) != 0) return Status::Corruption(path + ": control magic mismatch");
  if (Crc32c(buf.data(), kControlCrcOffset) != DecodeFixed32(buf.data() + kControlCrcOffset)) {
    return Status::Corruption(path + ": control CRC mismatch");
  }
  uint32_t version = DecodeFixed32(buf.data() + 8);
  if (version != kFormatVersion) {
    return Status::Corruption(path + ": control format version " + std::to_string(version) + " is not supported");
  }
  out->catalog_version = DecodeFixed32(buf.data() + 12);
  out->redo_lsn = DecodeFixed64(buf.data() + 16);
  out->checkpoint_time_ms = DecodeFixed64(buf.data() + 24);
  return Status::Ok();
}

Status WriteControl(const std::string& dir, const ControlData& data) {
  char buf[kControlSize];
  std::memcpy(buf, kControlMagic, 8);
  EncodeFixed32(buf + 8, kFormatVersion);
  EncodeFixed32(buf + 12, data.catalog_version);
  EncodeFixed64(buf + 16, data.redo_lsn);
  EncodeFixed64(buf + 24, data.checkpoint_time_ms);
  EncodeFixed32(buf + kControlCrcOffset, Crc32c(buf, kControlCrcOffset));
  std::string tmp = JoinPath(dir, "control.tmp");
  UniqueFd fd;
  Status s = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd);
  if (s.ok()) s = WriteAll(fd.get(), buf, kControlSize, tmp);
  if (s.ok()) s = Fsync(fd.get(), tmp);
  if (s.ok()) s = fd.Close(tmp);
  if (s.ok()) s = RenameFile(tmp, JoinPath(dir, "control"));
  if (s.ok()) s = FsyncDir(dir);
  return s;
}

}  // namespace kvstore

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
  return DecodeControl(buf, path, out);
}

Status DecodeControl(std::string_view buf, const std::string& path, ControlData* out) {
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
  uint64_t redo = DecodeFixed64(buf.data() + 16);
  // LSNs start at 1; a redo point of 0 names no snapshot any writer can have made.
  if (redo == 0) return Status::Corruption(path + ": control names redo LSN 0");
  out->catalog_version = DecodeFixed32(buf.data() + 12);
  out->redo_lsn = redo;
  out->checkpoint_time_ms = DecodeFixed64(buf.data() + 24);
  return Status::Ok();
}

std::string EncodeControl(const ControlData& data) {
  std::string buf(kControlSize, '\0');
  std::memcpy(buf.data(), kControlMagic, 8);
  EncodeFixed32(buf.data() + 8, kFormatVersion);
  EncodeFixed32(buf.data() + 12, data.catalog_version);
  EncodeFixed64(buf.data() + 16, data.redo_lsn);
  EncodeFixed64(buf.data() + 24, data.checkpoint_time_ms);
  EncodeFixed32(buf.data() + kControlCrcOffset, Crc32c(buf.data(), kControlCrcOffset));
  return buf;
}

Status WriteControl(const std::string& dir, const ControlData& data) {
  const std::string buf = EncodeControl(data);
  std::string tmp = JoinPath(dir, "control.tmp");
  UniqueFd fd;
  Status s = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd);
  if (s.ok()) s = WriteAll(fd.get(), buf.data(), buf.size(), tmp);
  if (s.ok()) s = Fsync(fd.get(), tmp);
  if (s.ok()) s = fd.Close(tmp);
  if (s.ok()) s = RenameFile(tmp, JoinPath(dir, "control"));
  if (s.ok()) s = FsyncDir(dir);
  return s;
}

}  // namespace kvstore

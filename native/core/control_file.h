// The `control` file (36 bytes, layout in wal_format.h): names the redo LSN of the last
// checkpoint. Replaced atomically: control.tmp, fsync, rename, fsync of the directory.
#ifndef KVSTORE_CORE_CONTROL_FILE_H_
#define KVSTORE_CORE_CONTROL_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace kvstore {

struct ControlData {
  uint32_t catalog_version = 0;
  uint64_t redo_lsn = 0;
  uint64_t checkpoint_time_ms = 0;
};

// *exists = false (and Ok) when there is no control file. A bad size, magic, CRC or
// format version is Corruption naming the path.
Status ReadControl(const std::string& dir, bool* exists, ControlData* out);
// The checks and decoding of ReadControl over bytes already in memory (`path` names them
// in errors).
Status DecodeControl(std::string_view buf, const std::string& path, ControlData* out);
// The 36 bytes of a control file holding `data`.
std::string EncodeControl(const ControlData& data);
Status WriteControl(const std::string& dir, const ControlData& data);

}  // namespace kvstore

#endif  // KVSTORE_CORE_CONTROL_FILE_H_

// Fuzz target: the control file decoder. Any 36 bytes it accepts re-encode to exactly
// themselves; everything else is a Corruption.
#include <cstdint>
#include <string>

#include "control_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvstore;
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  ControlData c;
  Status s = DecodeControl(buf, "control", &c);
  if (s.ok()) {
    fuzz::Require(EncodeControl(c) == buf, "accepted control does not re-encode to its bytes");
    fuzz::Require(c.redo_lsn >= 1, "accepted redo LSN 0");
  } else {
    fuzz::Require(s.code() == Status::Code::kCorruption, "bad control bytes must be Corruption");
  }
  return 0;
}

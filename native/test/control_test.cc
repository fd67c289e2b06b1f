// The control file: round trip, and a Corruption for every kind of damage.
#include <gtest/gtest.h>

#include "coding.h"
#include "control_file.h"
#include "crc32c.h"
#include "test_util.h"
#include "wal_format.h"

namespace kvstore {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

ControlData Sample() {
  ControlData c;
  c.catalog_version = 3;
  c.redo_lsn = 42;
  c.checkpoint_time_ms = 1700000000000;
  return c;
}

TEST(Control, RoundTripsThroughTheFile) {
  TempDir dir;
  ASSERT_TRUE(WriteControl(dir.path(), Sample()).ok());
  bool exists = false;
  ControlData got;
  ASSERT_TRUE(ReadControl(dir.path(), &exists, &got).ok());
  EXPECT_TRUE(exists);
  EXPECT_EQ(got.catalog_version, 3u);
  EXPECT_EQ(got.redo_lsn, 42u);
  EXPECT_EQ(got.checkpoint_time_ms, 1700000000000u);
  EXPECT_EQ(ReadFile(dir / "control").size(), kControlSize);
  EXPECT_FALSE(std::filesystem::exists(dir / "control.tmp"));
}

TEST(Control, NoFileMeansNoCheckpoint) {
  TempDir dir;
  bool exists = true;
  ControlData got;
  ASSERT_TRUE(ReadControl(dir.path(), &exists, &got).ok());
  EXPECT_FALSE(exists);
}

Status Decode(const std::string& bytes) {
  ControlData out;
  return DecodeControl(bytes, "control", &out);
}

std::string Resealed(std::string b) {
  EncodeFixed32(b.data() + kControlCrcOffset, Crc32c(b.data(), kControlCrcOffset));
  return b;
}

TEST(Control, AShortFileIsCorrupt) {
  EXPECT_EQ(Decode(EncodeControl(Sample()).substr(0, 35)).code(), Status::Code::kCorruption);
}

TEST(Control, AFlippedByteIsCorrupt) {
  std::string b = EncodeControl(Sample());
  for (size_t i = 0; i < b.size(); i++) {
    std::string c = b;
    c[i] ^= 0x10;
    EXPECT_EQ(Decode(c).code(), Status::Code::kCorruption) << "byte " << i;
  }
}

TEST(Control, AnotherFormatVersionIsCorruptEvenWithAGoodCrc) {
  std::string b = EncodeControl(Sample());
  EncodeFixed32(b.data() + 8, 2);
  EXPECT_EQ(Decode(Resealed(b)).code(), Status::Code::kCorruption);
}

TEST(Control, RedoLsnZeroIsCorruptEvenWithAGoodCrc) {
  ControlData c = Sample();
  c.redo_lsn = 0;
  EXPECT_EQ(Decode(EncodeControl(c)).code(), Status::Code::kCorruption);
}

TEST(Control, ADamagedFileOnDiskFailsReadControl) {
  TempDir dir;
  ASSERT_TRUE(WriteControl(dir.path(), Sample()).ok());
  testing::SetByte(dir / "control", 20, 0x7f);
  bool exists;
  ControlData got;
  EXPECT_EQ(ReadControl(dir.path(), &exists, &got).code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace kvstore

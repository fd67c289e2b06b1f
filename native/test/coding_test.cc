// CRC-32C, fixed-width coding and the hex file names.
#include <gtest/gtest.h>

#include <string>

#include "coding.h"
#include "crc32c.h"
#include "file_util.h"
#include "snapshot.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

TEST(Crc32c, MatchesTheIscsiCheckValue) { EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u); }

TEST(Crc32c, ExtendingInPiecesEqualsTheWhole) {
  std::string data;
  for (int i = 0; i < 1000; i++) data.push_back(static_cast<char>(i * 7 + 3));
  uint32_t whole = Crc32c(data.data(), data.size());
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    uint32_t c = Crc32cExtend(Crc32c(data.data(), cut), data.data() + cut, data.size() - cut);
    EXPECT_EQ(c, whole) << "cut at " << cut;
  }
}

TEST(Coding, FixedWidthRoundTripsLittleEndian) {
  char b[8];
  EncodeFixed32(b, 0x01020304u);
  EXPECT_EQ(b[0], 0x04);
  EXPECT_EQ(DecodeFixed32(b), 0x01020304u);
  EncodeFixed64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 0x08);
  EXPECT_EQ(DecodeFixed64(b), 0x0102030405060708ull);
}

TEST(FileNames, SegmentAndSnapshotNamesRoundTrip) {
  for (uint64_t v : {uint64_t{1}, uint64_t{0xabcdef}, ~uint64_t{0}}) {
    uint64_t got = 0;
    EXPECT_TRUE(ParseSegmentName(SegmentName(v), &got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(ParseSnapshotName(SnapshotName(v), &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_EQ(SegmentName(26), "000000000000001a.wal");
}

TEST(FileNames, ForeignNamesAreNotParsed) {
  uint64_t v;
  EXPECT_FALSE(ParseSegmentName("000000000000001A.wal", &v));  // upper case
  EXPECT_FALSE(ParseSegmentName("00000000000001a.wal", &v));   // 15 digits
  EXPECT_FALSE(ParseSegmentName("000000000000001a.wal.tmp", &v));
  EXPECT_FALSE(ParseSnapshotName("snapshot-000000000000001a.snap.tmp", &v));
  EXPECT_FALSE(ParseSnapshotName("snapshot-00000000000000g1.snap", &v));
}

}  // namespace
}  // namespace kvstore

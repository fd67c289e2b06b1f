// WAL records: framing, the reader's verdict on every kind of bad byte, body decoding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coding.h"
#include "wal_format.h"
#include "wal_reader.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

std::string PutRecord(uint64_t lsn, std::string_view key, std::string_view value, uint64_t exp = 0) {
  std::string buf;
  size_t start = BeginRecord(&buf);
  AppendPutBody(&buf, key, value, exp);
  FinishRecord(&buf, start, lsn, kKindPut);
  return buf;
}

std::string Record(uint64_t lsn, uint8_t kind, const std::string& body) {
  std::string buf;
  size_t start = BeginRecord(&buf);
  buf += body;
  FinishRecord(&buf, start, lsn, kind);
  return buf;
}

ReadResult ReadAt(const std::string& buf, size_t at, RecordView* r = nullptr) {
  RecordView local;
  return ReadRecord(buf, at, r != nullptr ? r : &local);
}

TEST(WalRecord, TheSpecsWorkedExampleIsByteExact) {
  // docs/on-disk-format.md: PUT "a" = "1", LSN 1, no expiry.
  const unsigned char want[] = {0xbf, 0x0b, 0xb3, 0x91, 0x12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0,
                                1,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0x61, 0x31};
  EXPECT_EQ(PutRecord(1, "a", "1"), std::string(reinterpret_cast<const char*>(want), sizeof(want)));
}

TEST(WalRecord, ReadsBackWhatWasFramed) {
  std::string seg = PutRecord(7, "key", "value", 123) + PutRecord(8, "k2", "");
  RecordView r;
  ASSERT_EQ(ReadAt(seg, 0, &r), ReadResult::kOk);
  EXPECT_EQ(r.lsn, 7u);
  EXPECT_EQ(r.kind, kKindPut);
  std::vector<Change> changes;
  std::string why;
  ASSERT_TRUE(DecodeBody(r.kind, r.body, &changes, &why)) << why;
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "key");
  EXPECT_EQ(changes[0].value, "value");
  EXPECT_EQ(changes[0].expires_at, 123u);
  ASSERT_EQ(ReadAt(seg, r.next, &r), ReadResult::kOk);
  EXPECT_EQ(r.lsn, 8u);
  EXPECT_EQ(ReadAt(seg, r.next), ReadResult::kEnd);
}

TEST(WalRecord, HeaderCutShortIsShort) {
  std::string seg = PutRecord(1, "a", "1");
  EXPECT_EQ(ReadAt(seg.substr(0, 10), 0), ReadResult::kShort);
}

TEST(WalRecord, BodyCutShortIsShort) {
  std::string seg = PutRecord(1, "a", "1");
  EXPECT_EQ(ReadAt(seg.substr(0, seg.size() - 1), 0), ReadResult::kShort);
}

TEST(WalRecord, ZeroedSpaceIsZero) { EXPECT_EQ(ReadAt(std::string(64, '\0'), 0), ReadResult::kZero); }

TEST(WalRecord, AFlippedBodyByteFailsTheCrc) {
  std::string seg = PutRecord(1, "abc", "value");
  seg[seg.size() - 2] ^= 1;
  EXPECT_EQ(ReadAt(seg, 0), ReadResult::kCrc);
}

TEST(WalRecord, AFlippedLsnFailsTheCrc) {
  std::string seg = PutRecord(1, "abc", "value");
  seg[8] ^= 2;
  EXPECT_EQ(ReadAt(seg, 0), ReadResult::kCrc);
}

TEST(WalRecord, AHugeLengthIsRefusedBeforeAnyRead) {
  std::string seg = PutRecord(1, "abc", "value");
  EncodeFixed32(seg.data() + 4, kMaxRecordBody + 1);
  EXPECT_EQ(ReadAt(seg, 0), ReadResult::kLength);
}

TEST(WalRecord, AValidKindZeroRecordEndsTheLog) { EXPECT_EQ(ReadAt(Record(1, 0, "x"), 0), ReadResult::kZero); }

TEST(WalRecord, ValidRecordAfterFindsTheNextLsnOnly) {
  std::string seg = PutRecord(1, "a", "1");
  seg[20] ^= 1;  // damage record 1
  seg += PutRecord(2, "b", "2");
  EXPECT_TRUE(ValidRecordAfter(seg, 1, 2));
  EXPECT_FALSE(ValidRecordAfter(seg, 1, 3));
}

std::string PutBody(std::string_view k, std::string_view v, uint64_t exp = 0) {
  std::string b;
  AppendPutBody(&b, k, v, exp);
  return b;
}

bool Decodes(uint8_t kind, const std::string& body, std::string* why = nullptr) {
  std::vector<Change> c;
  std::string w;
  bool ok = DecodeBody(kind, body, &c, &w);
  if (why != nullptr) *why = w;
  return ok;
}

TEST(WalBody, TrailingBytesAreCorrupt) { EXPECT_FALSE(Decodes(kKindPut, PutBody("k", "v") + "x")); }

TEST(WalBody, AnEmptyKeyIsCorrupt) { EXPECT_FALSE(Decodes(kKindPut, PutBody("", "v"))); }

TEST(WalBody, AKeyOverTheLimitIsCorrupt) {
  EXPECT_TRUE(Decodes(kKindPut, PutBody(std::string(kMaxKeyBytes, 'k'), "v")));
  EXPECT_FALSE(Decodes(kKindPut, PutBody(std::string(kMaxKeyBytes + 1, 'k'), "v")));
}

TEST(WalBody, AValueLengthPastTheBodyIsCorrupt) {
  std::string b = PutBody("k", "v");
  EncodeFixed32(b.data() + 4, 0xFFFFFFFFu);
  EXPECT_FALSE(Decodes(kKindPut, b));
}

TEST(WalBody, AnExpiryBeyondJsSafeIntegersIsCorrupt) {
  EXPECT_FALSE(Decodes(kKindPut, PutBody("k", "v", uint64_t{1} << 53)));
}

TEST(WalBody, ABatchDecodesEveryOp) {
  std::string b;
  PutFixed32(&b, 2);
  b.push_back(static_cast<char>(kKindPut));
  AppendPutBody(&b, "a", "1", 0);
  b.push_back(static_cast<char>(kKindDelete));
  AppendDeleteBody(&b, "b");
  std::vector<Change> c;
  std::string why;
  ASSERT_TRUE(DecodeBody(kKindBatch, b, &c, &why)) << why;
  ASSERT_EQ(c.size(), 2u);
  EXPECT_TRUE(c[0].is_put);
  EXPECT_FALSE(c[1].is_put);
  EXPECT_EQ(c[1].key, "b");
}

TEST(WalBody, ABatchCountThatCannotFitIsRefusedUpFront) {
  std::string b;
  PutFixed32(&b, 0xFFFFFFFFu);
  b.push_back(static_cast<char>(kKindDelete));
  AppendDeleteBody(&b, "b");
  std::string why;
  EXPECT_FALSE(Decodes(kKindBatch, b, &why));
  EXPECT_EQ(why, "BATCH count out of range");
}

TEST(WalBody, ABatchWithAnUnknownOpIsCorrupt) {
  std::string b;
  PutFixed32(&b, 1);
  b.push_back(static_cast<char>(kKindIncr));
  AppendPutBody(&b, "a", "1", 0);
  EXPECT_FALSE(Decodes(kKindBatch, b));
}

TEST(WalBody, AnUnknownKindIsRefused) {
  std::string why;
  EXPECT_FALSE(Decodes(5, PutBody("k", "v"), &why));
  EXPECT_NE(why.find("unsupported record kind"), std::string::npos);
}

}  // namespace
}  // namespace kvstore

// Snapshots: writer/loader round trip, the loader's verdict on damage, and that an
// abandoned writer leaves no .tmp behind.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "coding.h"
#include "crc32c.h"
#include "fault_injection.h"
#include "snapshot.h"
#include "test_util.h"
#include "wal_format.h"

namespace kvstore {
namespace {

using testing::Files;
using testing::ReadFile;
using testing::TempDir;

using Row = std::tuple<std::string, std::string, uint64_t, uint64_t>;

Status Load(const std::string& dir, uint64_t redo, std::vector<Row>* rows) {
  rows->clear();
  return LoadSnapshot(dir, redo, [rows](std::string_view k, std::string_view v, uint64_t ver, uint64_t exp) {
    rows->emplace_back(std::string(k), std::string(v), ver, exp);
  });
}

// Writes `n` entries (values big enough to cross the 1 MiB chunk when n is large).
std::vector<Row> WriteSnapshot(const std::string& dir, uint64_t redo, size_t n, size_t vsize) {
  std::vector<Row> rows;
  SnapshotWriter w(dir, redo);
  EXPECT_TRUE(w.Open().ok());
  for (size_t i = 0; i < n; i++) {
    rows.emplace_back("key" + std::to_string(i), std::string(vsize, static_cast<char>('a' + i % 26)), 1 + i % (redo - 1),
                      i % 3 == 0 ? 0 : 1000 + i);
    const auto& [k, v, ver, exp] = rows.back();
    w.Add(k, v, ver, exp);
    EXPECT_TRUE(w.MaybeFlush().ok());
  }
  EXPECT_TRUE(w.Finish().ok());
  return rows;
}

TEST(Snapshot, RoundTripsAcrossChunkFlushes) {
  TempDir dir;
  auto want = WriteSnapshot(dir.path(), 100, 3000, 700);  // ~2 MiB: several flushes
  std::vector<Row> got;
  ASSERT_TRUE(Load(dir.path(), 100, &got).ok());
  EXPECT_EQ(got, want);
  EXPECT_EQ(Files(dir.path()), std::vector<std::string>{SnapshotName(100)});
}

TEST(Snapshot, AnEmptySnapshotLoads) {
  TempDir dir;
  WriteSnapshot(dir.path(), 5, 0, 0);
  std::vector<Row> got;
  ASSERT_TRUE(Load(dir.path(), 5, &got).ok());
  EXPECT_TRUE(got.empty());
}

TEST(Snapshot, AMissingFileIsCorrupt) {
  TempDir dir;
  std::vector<Row> got;
  EXPECT_EQ(Load(dir.path(), 5, &got).code(), Status::Code::kCorruption);
}

TEST(Snapshot, EveryFlippedByteIsCorrupt) {
  TempDir dir;
  WriteSnapshot(dir.path(), 50, 4, 10);
  std::string path = dir / SnapshotName(50);
  std::string good = ReadFile(path);
  for (size_t i = 0; i < good.size(); i++) {
    std::string bad = good;
    bad[i] ^= 0x01;
    std::vector<Row> rows;
    Status s = DecodeSnapshot(bad, 50, path, [](std::string_view, std::string_view, uint64_t, uint64_t) {});
    // The reserved u32 at offset 12 is covered by the CRC too.
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << "byte " << i;
  }
}

TEST(Snapshot, ATruncatedFileIsCorrupt) {
  TempDir dir;
  WriteSnapshot(dir.path(), 50, 4, 10);
  testing::ShrinkFile(dir / SnapshotName(50), 3);
  std::vector<Row> got;
  EXPECT_EQ(Load(dir.path(), 50, &got).code(), Status::Code::kCorruption);
}

TEST(Snapshot, ARedoLsnOtherThanControlsIsCorrupt) {
  TempDir dir;
  WriteSnapshot(dir.path(), 50, 1, 1);
  std::string good = ReadFile(dir / SnapshotName(50));
  Status s = DecodeSnapshot(good, 51, "x", [](std::string_view, std::string_view, uint64_t, uint64_t) {});
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
}

// A snapshot with a valid CRC whose header lies about the entry count.
TEST(Snapshot, AnEntryCountThatCannotFitIsCorruptWithoutWalkingIt) {
  TempDir dir;
  WriteSnapshot(dir.path(), 50, 2, 1);
  std::string b = ReadFile(dir / SnapshotName(50));
  EncodeFixed64(b.data() + 24, ~uint64_t{0});
  size_t end = b.size() - kSnapshotTrailerSize;
  EncodeFixed32(b.data() + end, Crc32c(b.data(), end));
  int calls = 0;
  Status s = DecodeSnapshot(b, 50, "x", [&](std::string_view, std::string_view, uint64_t, uint64_t) { calls++; });
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(calls, 0);
}

TEST(Snapshot, AnAbandonedWriterRemovesItsTmp) {
  TempDir dir;
  {
    SnapshotWriter w(dir.path(), 9);
    ASSERT_TRUE(w.Open().ok());
    w.Add("k", "v", 1, 0);
    EXPECT_EQ(Files(dir.path()).size(), 1u);
  }
  EXPECT_TRUE(Files(dir.path()).empty());
}

// Regression: the descriptor is closed before the rename, and the destructor used to
// remove the .tmp only while the descriptor was open, so a failed rename left it behind.
TEST(Snapshot, AFailedRenameLeavesNoTmp) {
  TempDir dir;
  fault::Disarm();
  fault::Arm(fault::Rule{fault::Op::kRename, 1, EIO, ".snap.tmp"});
  {
    SnapshotWriter w(dir.path(), 9);
    ASSERT_TRUE(w.Open().ok());
    w.Add("k", "v", 1, 0);
    EXPECT_EQ(w.Finish().code(), Status::Code::kIoError);
  }
  fault::Disarm();
  EXPECT_TRUE(Files(dir.path()).empty());
}

}  // namespace
}  // namespace kvstore

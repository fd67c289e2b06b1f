// The engine through its public API: writes and conditions, scans, recovery after close,
// checkpoints and crashes, torn tails and corruption. Each durability policy where it
// matters (a parameterised suite).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "coding.h"
#include "control_file.h"
#include "snapshot.h"
#include "test_util.h"
#include "wal_format.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

using testing::Dump;
using testing::Files;
using testing::Get;
using testing::MustOpen;
using testing::Options;
using testing::State;
using testing::TempDir;

uint64_t MustPut(Engine* e, const std::string& k, const std::string& v, uint64_t exp = 0) {
  uint64_t lsn = 0;
  Status s = e->Put(k, v, exp, -1, 1, &lsn);
  EXPECT_TRUE(s.ok()) << s.message();
  return lsn;
}

class EngineTest : public ::testing::TestWithParam<Durability> {
 protected:
  EngineOptions Opts() { return Options(dir_.path(), GetParam()); }
  TempDir dir_;
};

TEST_P(EngineTest, WritesAreReadableOnceDurable) {
  auto e = MustOpen(Opts());
  uint64_t l1 = MustPut(e.get(), "a", "1");
  uint64_t l2 = MustPut(e.get(), "b", "2");
  EXPECT_EQ(l2, l1 + 1);
  e->WaitDurable();
  EXPECT_EQ(Get(*e, "a"), "1");
  EXPECT_EQ(Get(*e, "b"), "2");
  uint64_t lsn;
  ASSERT_TRUE(e->Delete("a", -1, 1, &lsn).ok());
  EXPECT_EQ(lsn, l2 + 1);
  ASSERT_TRUE(e->Delete("nope", -1, 1, &lsn).ok());
  EXPECT_EQ(lsn, 0u) << "deleting an absent key writes nothing";
  e->WaitDurable();
  EXPECT_EQ(Get(*e, "a"), "<absent>");
}

TEST_P(EngineTest, ConditionsSeeSubmittedButUnsyncedWrites) {
  auto e = MustOpen(Opts());
  uint64_t v1 = MustPut(e.get(), "k", "1");
  uint64_t lsn;
  // No WaitDurable: under `always` the first write is still pending here.
  EXPECT_EQ(e->Put("k", "x", 0, 0, 1, &lsn).code(), Status::Code::kVersionMismatch);
  EXPECT_EQ(e->Put("k", "x", 0, static_cast<int64_t>(v1) + 1, 1, &lsn).code(), Status::Code::kVersionMismatch);
  ASSERT_TRUE(e->Put("k", "2", 0, static_cast<int64_t>(v1), 1, &lsn).ok());
  EXPECT_EQ(e->Delete("k", static_cast<int64_t>(v1), 1, &lsn).code(), Status::Code::kVersionMismatch);
  ASSERT_TRUE(e->Put("fresh", "x", 0, 0, 1, &lsn).ok()) << "ifVersion 0 = must not exist";
  e->WaitDurable();
  EXPECT_EQ(Get(*e, "k"), "2");
}

TEST_P(EngineTest, IncrCountsAndRefusesNonNumbersAndOverflow) {
  auto e = MustOpen(Opts());
  uint64_t lsn;
  int64_t r = 0;
  ASSERT_TRUE(e->Incr("c", 5, 1, &lsn, &r).ok());
  EXPECT_EQ(r, 5);
  ASSERT_TRUE(e->Incr("c", -7, 1, &lsn, &r).ok());
  EXPECT_EQ(r, -2);
  MustPut(e.get(), "s", "abc");
  EXPECT_EQ(e->Incr("s", 1, 1, &lsn, &r).code(), Status::Code::kNotANumber);
  MustPut(e.get(), "m", std::to_string(INT64_MAX));
  EXPECT_EQ(e->Incr("m", 1, 1, &lsn, &r).code(), Status::Code::kNotANumber);
  e->WaitDurable();
  EXPECT_EQ(Get(*e, "c"), "-2");
}

std::string BatchBody(const std::vector<std::pair<std::string, std::string>>& puts, const std::vector<std::string>& dels) {
  std::string b;
  PutFixed32(&b, static_cast<uint32_t>(puts.size() + dels.size()));
  for (const auto& [k, v] : puts) {
    b.push_back(static_cast<char>(kKindPut));
    AppendPutBody(&b, k, v, 0);
  }
  for (const auto& k : dels) {
    b.push_back(static_cast<char>(kKindDelete));
    AppendDeleteBody(&b, k);
  }
  return b;
}

TEST_P(EngineTest, ABatchIsOneLsnAndAMalformedOneIsRefused) {
  auto e = MustOpen(Opts());
  MustPut(e.get(), "gone", "x");
  uint64_t lsn;
  ASSERT_TRUE(e->Batch(BatchBody({{"a", "1"}, {"b", "2"}}, {"gone"}), 1, &lsn).ok());
  e->WaitDurable();
  State s = Dump(*e);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s["a"].version, lsn);
  EXPECT_EQ(s["b"].version, lsn);
  std::string bad = BatchBody({{"a", "1"}}, {});
  bad.push_back('x');
  EXPECT_EQ(e->Batch(bad, 1, &lsn).code(), Status::Code::kInvalidArgument);
}

std::string Checks(const std::vector<std::pair<std::string, uint64_t>>& checks) {
  std::string b;
  PutFixed32(&b, static_cast<uint32_t>(checks.size()));
  for (const auto& [k, v] : checks) {
    PutFixed32(&b, static_cast<uint32_t>(k.size()));
    b.append(k);
    PutFixed64(&b, v);
  }
  return b;
}

TEST_P(EngineTest, BatchIfWritesOnlyWhenEveryCheckedVersionHolds) {
  auto e = MustOpen(Opts());
  uint64_t v = MustPut(e.get(), "k", "1");
  uint64_t lsn = 99;
  // Not yet durable under `always`: the checks see the submitted write, as CAS does.
  EXPECT_EQ(e->BatchIf(BatchBody({{"k", "x"}}, {}), Checks({{"k", v + 1}}), 1, &lsn).code(), Status::Code::kVersionMismatch);
  EXPECT_EQ(e->BatchIf(BatchBody({{"k", "x"}}, {}), Checks({{"k", v}, {"absent", 3}}), 1, &lsn).code(), Status::Code::kVersionMismatch);
  ASSERT_TRUE(e->BatchIf(std::string(), Checks({{"k", v}, {"absent", 0}}), 1, &lsn).ok());
  EXPECT_EQ(lsn, 0u) << "an empty body validates and writes nothing";
  ASSERT_TRUE(e->BatchIf(BatchBody({{"k", "2"}, {"n", "1"}}, {}), Checks({{"k", v}, {"absent", 0}}), 1, &lsn).ok());
  EXPECT_EQ(lsn, v + 1);
  std::string trailing = Checks({{"k", v}});
  trailing.push_back('x');
  EXPECT_EQ(e->BatchIf(BatchBody({{"k", "3"}}, {}), trailing, 1, &lsn).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(e->BatchIf(BatchBody({{"k", "3"}}, {}), std::string("\x01\x00", 2), 1, &lsn).code(), Status::Code::kInvalidArgument);
  e->WaitDurable();
  State s = Dump(*e);
  EXPECT_EQ(s["k"].value, "2");
  EXPECT_EQ(s["k"].version, v + 1);
  EXPECT_EQ(s["n"].version, v + 1);
}

TEST_P(EngineTest, ScansAreOrderedBoundedAndLimited) {
  auto e = MustOpen(Opts());
  for (int i = 0; i < 200; i++) MustPut(e.get(), "k" + std::to_string(1000 + i), std::to_string(i));
  MustPut(e.get(), "expired", "x", 5);
  e->WaitDurable();
  std::vector<std::string> keys;
  e->Scan(std::string_view("k1010"), std::string_view("k1020"), 0, false, 10,
          [&](const Item& it) { keys.emplace_back(it.key()); });
  ASSERT_EQ(keys.size(), 10u);
  EXPECT_EQ(keys.front(), "k1010");
  EXPECT_EQ(keys.back(), "k1019");
  keys.clear();
  e->Scan(std::nullopt, std::nullopt, 3, true, 10, [&](const Item& it) { keys.emplace_back(it.key()); });
  EXPECT_EQ(keys, (std::vector<std::string>{"k1199", "k1198", "k1197"}));
  EXPECT_EQ(e->Count(std::nullopt, std::nullopt, 10), 200u) << "the expired key is not counted";
  EXPECT_EQ(e->Count(std::nullopt, std::nullopt, 1), 201u);
  EXPECT_EQ(e->Count(std::string_view("k1100"), std::nullopt, 10), 100u);
  EXPECT_EQ(e->Sweep(10, 1000), 1u);
  EXPECT_EQ(e->Count(std::nullopt, std::nullopt, 1), 200u);
}

TEST_P(EngineTest, CloseThenReopenRecoversTheSameState) {
  State before;
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 500; i++) MustPut(e.get(), "k" + std::to_string(i % 300), std::string(i % 50, 'v'), i % 7 == 0 ? 99999 : 0);
    uint64_t lsn;
    ASSERT_TRUE(e->Delete("k5", -1, 1, &lsn).ok());
    e->WaitDurable();
    before = Dump(*e);
    ASSERT_TRUE(e->Close(false).ok());
  }
  auto e = MustOpen(Opts());
  EXPECT_EQ(Dump(*e), before);
}

TEST_P(EngineTest, ACheckpointKeepsTheStateAndDropsOldSegments) {
  State before;
  {
    auto e = MustOpen(Opts());
    std::string big(4000, 'x');
    for (int i = 0; i < 100; i++) MustPut(e.get(), "k" + std::to_string(i), big);  // ~400 KiB: several segments
    e->WaitDurable();
    EXPECT_GT(e->Stats().wal_segments, 3u);
    uint64_t redo;
    ASSERT_TRUE(e->Checkpoint(1, &redo).ok());
    EXPECT_EQ(redo, 101u);
    MustPut(e.get(), "after", "1");
    e->WaitDurable();
    EXPECT_LE(e->Stats().wal_segments, 2u);
    before = Dump(*e);
    ASSERT_TRUE(e->Close(false).ok());
  }
  EXPECT_EQ(Files(dir_ / "base"), std::vector<std::string>{SnapshotName(101)});
  auto e = MustOpen(Opts());
  EXPECT_EQ(Dump(*e), before);
}

TEST_P(EngineTest, AFinalCheckpointAtCloseLeavesNothingToReplay) {
  {
    auto e = MustOpen(Opts());
    for (int i = 0; i < 50; i++) MustPut(e.get(), "k" + std::to_string(i), "v");
    ASSERT_TRUE(e->Close(true).ok());
  }
  bool exists;
  ControlData c;
  ASSERT_TRUE(ReadControl(dir_.path(), &exists, &c).ok());
  ASSERT_TRUE(exists);
  EXPECT_EQ(c.redo_lsn, 51u);
  auto e = MustOpen(Opts());
  EXPECT_EQ(Dump(*e).size(), 50u);
  EXPECT_EQ(e->NextLsn(), 51u);
}

INSTANTIATE_TEST_SUITE_P(Durabilities, EngineTest,
                         ::testing::Values(Durability::kAlways, Durability::kInterval, Durability::kNone),
                         [](const ::testing::TestParamInfo<Durability>& i) {
                           return std::string(i.param == Durability::kAlways     ? "always"
                                              : i.param == Durability::kInterval ? "interval"
                                                                                 : "none");
                         });

// ---------------------------------------------------------------- recovery from damage

class RecoveryTest : public ::testing::Test {
 protected:
  // Three records in one segment; returns the segment's path.
  std::string ThreeRecords() {
    auto e = MustOpen(Options(dir_.path()));
    MustPut(e.get(), "a", "1");
    MustPut(e.get(), "b", "2");
    MustPut(e.get(), "c", "3");
    e->WaitDurable();
    EXPECT_TRUE(e->Close(false).ok());
    return dir_ / ("wal/" + SegmentName(1));
  }
  Status Reopen(std::vector<LogLine>* logs, bool truncate = false) {
    EngineOptions o = Options(dir_.path());
    o.truncate_corrupt_tail = truncate;
    engine_.reset();
    return Engine::Open(o, logs, &engine_);
  }
  TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

constexpr size_t kRec = kRecordHeaderSize + kPutFixedSize + 2;  // one of the records above

TEST_F(RecoveryTest, ATornTailIsTruncatedWithAWarning) {
  std::string seg = ThreeRecords();
  testing::ShrinkFile(seg, 5);
  std::vector<LogLine> logs;
  ASSERT_TRUE(Reopen(&logs).ok());
  EXPECT_EQ(Get(*engine_, "b"), "2");
  EXPECT_EQ(Get(*engine_, "c"), "<absent>");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].level, "warn");
  EXPECT_EQ(testing::ReadFile(seg).size(), 2 * kRec);
  EXPECT_EQ(engine_->NextLsn(), 3u) << "the torn record's LSN is reused";
}

TEST_F(RecoveryTest, ABadCrcWithAValidRecordAfterItIsCorruption) {
  std::string seg = ThreeRecords();
  testing::SetByte(seg, kRec + kRecordHeaderSize + 3, 0x55);  // inside record 2
  std::vector<LogLine> logs;
  Status s = Reopen(&logs);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("offset " + std::to_string(kRec)), std::string::npos) << s.message();
}

TEST_F(RecoveryTest, TruncateCorruptTailCutsTheLogThereWhenAsked) {
  std::string seg = ThreeRecords();
  testing::SetByte(seg, kRec + kRecordHeaderSize + 3, 0x55);
  std::vector<LogLine> logs;
  ASSERT_TRUE(Reopen(&logs, true).ok());
  EXPECT_EQ(Get(*engine_, "a"), "1");
  EXPECT_EQ(Get(*engine_, "c"), "<absent>");
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs[0].level, "error");
}

TEST_F(RecoveryTest, ADamagedSnapshotIsCorruptionNotAnEmptyStore) {
  {
    auto e = MustOpen(Options(dir_.path()));
    MustPut(e.get(), "a", "1");
    ASSERT_TRUE(e->Close(true).ok());
  }
  testing::SetByte(dir_ / ("base/" + SnapshotName(2)), 40, 0x33);
  std::vector<LogLine> logs;
  EXPECT_EQ(Reopen(&logs).code(), Status::Code::kCorruption);
}

TEST_F(RecoveryTest, AMissingSegmentIsCorruption) {
  {
    EngineOptions o = Options(dir_.path());
    o.wal_segment_bytes = 50;  // one record per segment
    auto e = MustOpen(o);
    for (int i = 0; i < 4; i++) MustPut(e.get(), "k" + std::to_string(i), "v");
    ASSERT_TRUE(e->Close(false).ok());
  }
  ASSERT_TRUE(std::filesystem::remove(dir_ / ("wal/" + SegmentName(2))));
  std::vector<LogLine> logs;
  EXPECT_EQ(Reopen(&logs).code(), Status::Code::kCorruption);
}

TEST_F(RecoveryTest, ASecondOpenerIsLockedOut) {
  auto e = MustOpen(Options(dir_.path()));
  std::vector<LogLine> logs;
  std::unique_ptr<Engine> other;
  EXPECT_EQ(Engine::Open(Options(dir_.path()), &logs, &other).code(), Status::Code::kLocked);
}

TEST_F(RecoveryTest, WritesAfterCloseAreRefused) {
  auto e = MustOpen(Options(dir_.path()));
  ASSERT_TRUE(e->Close(false).ok());
  uint64_t lsn;
  EXPECT_EQ(e->Put("k", "v", 0, -1, 1, &lsn).code(), Status::Code::kClosed);
  uint64_t redo;
  EXPECT_EQ(e->Checkpoint(1, &redo).code(), Status::Code::kClosed);
}

// Regression: Close(false) did not wait for a checkpoint running on another thread, so
// the checkpoint could go on writing snapshot and control after LOCK was released and
// another process had taken the directory.
TEST_F(RecoveryTest, CloseWaitsForACheckpointInFlight) {
  auto e = MustOpen(Options(dir_.path(), Durability::kNone));
  std::string v(1000, 'v');
  for (int i = 0; i < 20000; i++) MustPut(e.get(), "k" + std::to_string(i), v);
  e->WaitDurable();
  Status ck;
  std::thread t([&] {
    uint64_t redo;
    ck = e->Checkpoint(1, &redo);
  });
  // Close once the checkpoint is visibly under way (its .tmp exists).
  auto has_tmp = [&] {
    for (const auto& n : Files(dir_ / "base")) {
      if (n.find(".tmp") != std::string::npos) return true;
    }
    return false;
  };
  for (int spins = 0; !has_tmp() && spins < 200000; spins++) std::this_thread::yield();
  ASSERT_TRUE(has_tmp()) << "the checkpoint never started";
  ASSERT_TRUE(e->Close(false).ok());
  // Closed: nothing may be left half-done in base/ (no .tmp, and control names a snapshot
  // that exists, or no checkpoint happened at all).
  std::vector<std::string> base = Files(dir_ / "base");
  t.join();
  EXPECT_EQ(Files(dir_ / "base"), base) << "the checkpoint went on writing after Close returned";
  for (const auto& n : base) EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
  std::vector<LogLine> logs;
  ASSERT_TRUE(Reopen(&logs).ok());
  EXPECT_TRUE(ck.ok()) << ck.message();
  EXPECT_EQ(Dump(*engine_).size(), 20000u);
}

}  // namespace
}  // namespace kvstore

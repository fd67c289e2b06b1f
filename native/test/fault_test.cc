// Fault injection (native/core/fault_injection.h): write, fdatasync, rename, open and
// directory fsync failing at the Nth call, and crashes (a forked child that _exits at the
// injected point) between the steps of a checkpoint. In every case no acknowledged write
// may be lost and the store must reopen. (test/io-error.test.ts covers a real full disk
// through the JS API; these cases need a failure at one exact step.)
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <mutex>

#include "control_file.h"
#include "fault_injection.h"
#include "snapshot.h"
#include "test_util.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

using fault::Action;
using fault::Op;
using fault::Rule;
using testing::Dump;
using testing::Files;
using testing::Get;
using testing::MustOpen;
using testing::Options;
using testing::State;
using testing::TempDir;

Rule Fail(Op op, const std::string& path, uint64_t nth = 1, int err = EIO, Action action = Action::kFail) {
  Rule r;
  r.op = op;
  r.path_contains = path;
  r.nth = nth;
  r.err = err;
  r.action = action;
  return r;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { fault::Disarm(); }
  void TearDown() override { fault::Disarm(); }

  // Writes k<from>..k<to-1> one at a time, each waited for; returns the acknowledged ones
  // (durable before any failure), stopping at the first refused write.
  State WriteAcked(Engine* e, int from, int to, size_t vsize = 100) {
    State acked;
    for (int i = from; i < to; i++) {
      std::string k = "k" + std::to_string(i);
      std::string v = k + std::string(vsize, '.');
      uint64_t lsn;
      if (!e->Put(k, v, 0, -1, 1, &lsn).ok()) break;
      e->WaitDurable();
      if (e->Stats().durable_lsn < lsn) break;  // the WAL failed under it
      acked[k] = testing::Value{v, lsn, 0};
    }
    return acked;
  }

  static void ExpectContains(const State& got, const State& want) {
    for (const auto& [k, v] : want) {
      auto it = got.find(k);
      ASSERT_NE(it, got.end()) << "acknowledged write lost: " << k;
      EXPECT_EQ(it->second, v) << k;
    }
  }

  ControlData Control() {
    bool exists = false;
    ControlData c;
    EXPECT_TRUE(ReadControl(dir_.path(), &exists, &c).ok());
    return exists ? c : ControlData{};
  }

  // Runs fn in a forked child, which must die through an injected crash.
  void CrashInChild(const std::function<void()>& fn) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      fn();
      ::_exit(1);  // the crash point was never reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), fault::kCrashExitCode) << "the child did not reach the injected crash";
  }

  TempDir dir_;
};

TEST_F(FaultTest, FdatasyncFailureFailsPendingAndLaterWritesKeepsReadsAndLosesNothingAcked) {
  auto e = MustOpen(Options(dir_.path()));
  std::mutex mu;
  std::vector<EngineEvent> events;
  e->AddListener([&](const EngineEvent& ev) {
    std::lock_guard<std::mutex> l(mu);
    events.push_back(ev);
  });
  State acked = WriteAcked(e.get(), 0, 20);
  ASSERT_EQ(acked.size(), 20u);
  uint64_t durable = e->Stats().durable_lsn;
  fault::Arm(Fail(Op::kSync, "/wal/"));
  uint64_t pending;
  ASSERT_TRUE(e->Put("pending", "never durable", 0, -1, 1, &pending).ok());
  e->WaitDurable();
  EXPECT_EQ(fault::Fired(), 1u);
  {
    std::lock_guard<std::mutex> l(mu);
    auto failed = std::find_if(events.begin(), events.end(), [](const EngineEvent& ev) {
      return ev.type == EngineEvent::Type::kDurable && ev.error_code == "IO_ERROR";
    });
    ASSERT_NE(failed, events.end()) << "pending writes were not failed with IO_ERROR";
    EXPECT_EQ(failed->durable_lsn, durable) << "the durable LSN must not cover the unsynced write";
  }
  EXPECT_EQ(e->Stats().durable_lsn, durable);
  uint64_t lsn;
  EXPECT_EQ(e->Put("later", "x", 0, -1, 1, &lsn).code(), Status::Code::kIoError);
  int64_t r;
  EXPECT_EQ(e->Incr("ctr", 1, 1, &lsn, &r).code(), Status::Code::kIoError);
  EXPECT_EQ(Get(*e, "k3"), acked["k3"].value) << "reads go on";
  EXPECT_EQ(Get(*e, "pending"), "<absent>") << "a write that was never synced must not be readable";
  e->Close(false);
  e.reset();
  fault::Disarm();
  auto again = MustOpen(Options(dir_.path()));
  ExpectContains(Dump(*again), acked);
  ASSERT_TRUE(again->Put("after", "works", 0, -1, 1, &lsn).ok());
}

TEST_F(FaultTest, EnospcMidRecordLeavesATornTailAndLosesNothingAcked) {
  State acked;
  {
    auto e = MustOpen(Options(dir_.path()));
    fault::Arm(Fail(Op::kWrite, "/wal/", 15, ENOSPC, Action::kShortFail));
    acked = WriteAcked(e.get(), 0, 100, 300);
    EXPECT_EQ(fault::Fired(), 1u);
    EXPECT_EQ(acked.size(), 14u);
    uint64_t lsn;
    EXPECT_EQ(e->Put("later", "x", 0, -1, 1, &lsn).code(), Status::Code::kIoError);
  }
  fault::Disarm();
  std::vector<LogLine> logs;
  auto e = MustOpen(Options(dir_.path()), &logs);
  State got = Dump(*e);
  ExpectContains(got, acked);
  EXPECT_EQ(got.size(), acked.size()) << "half a record must not come back";
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].level, "warn");
  EXPECT_NE(logs[0].message.find("torn WAL tail"), std::string::npos) << logs[0].message;
}

TEST_F(FaultTest, EnospcMidCheckpointKeepsTheOldCheckpointAndTheStoreWritable) {
  auto e = MustOpen(Options(dir_.path()));
  State acked = WriteAcked(e.get(), 0, 50);
  uint64_t redo1;
  ASSERT_TRUE(e->Checkpoint(1, &redo1).ok());
  State more = WriteAcked(e.get(), 50, 100);
  acked.insert(more.begin(), more.end());
  fault::Arm(Fail(Op::kWrite, ".snap.tmp", 1, ENOSPC, Action::kShortFail));
  uint64_t redo2;
  EXPECT_EQ(e->Checkpoint(1, &redo2).code(), Status::Code::kIoError);
  EXPECT_EQ(fault::Fired(), 1u);
  EXPECT_EQ(Control().redo_lsn, redo1) << "control still names the old checkpoint";
  EXPECT_EQ(Files(dir_ / "base"), std::vector<std::string>{SnapshotName(redo1)}) << "no .tmp left behind";
  fault::Disarm();
  State after = WriteAcked(e.get(), 100, 110);
  EXPECT_EQ(after.size(), 10u) << "a failed checkpoint does not stop writes";
  acked.insert(after.begin(), after.end());
  e->Close(false);
  e.reset();
  auto again = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*again), acked);
}

TEST_F(FaultTest, ASnapshotRenameFailureLeavesNoTmpAndTheOldCheckpointInUse) {
  auto e = MustOpen(Options(dir_.path()));
  State acked = WriteAcked(e.get(), 0, 30);
  uint64_t redo1;
  ASSERT_TRUE(e->Checkpoint(1, &redo1).ok());
  State more = WriteAcked(e.get(), 30, 60);
  acked.insert(more.begin(), more.end());
  fault::Arm(Fail(Op::kRename, ".snap.tmp"));
  uint64_t redo2;
  EXPECT_EQ(e->Checkpoint(1, &redo2).code(), Status::Code::kIoError);
  EXPECT_EQ(Files(dir_ / "base"), std::vector<std::string>{SnapshotName(redo1)});
  EXPECT_EQ(Control().redo_lsn, redo1);
  fault::Disarm();
  e->Close(false);
  e.reset();
  auto again = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*again), acked);
}

TEST_F(FaultTest, AControlRenameFailureKeepsTheOldControlAndTheNextCheckpointCleansUp) {
  auto e = MustOpen(Options(dir_.path()));
  State acked = WriteAcked(e.get(), 0, 30);
  uint64_t redo1, redo2, redo3;
  ASSERT_TRUE(e->Checkpoint(1, &redo1).ok());
  State more = WriteAcked(e.get(), 30, 60);
  acked.insert(more.begin(), more.end());
  fault::Arm(Fail(Op::kRename, "control.tmp"));
  EXPECT_EQ(e->Checkpoint(1, &redo2).code(), Status::Code::kIoError);
  EXPECT_EQ(Control().redo_lsn, redo1);
  fault::Disarm();
  {
    // What a crash right now would recover.
    State now = Dump(*e);
    EXPECT_EQ(now, acked);
  }
  ASSERT_TRUE(e->Checkpoint(1, &redo3).ok());
  EXPECT_EQ(Files(dir_ / "base"), std::vector<std::string>{SnapshotName(redo3)});
  e->Close(false);
  e.reset();
  auto again = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*again), acked);
}

TEST_F(FaultTest, ADirectoryFsyncFailureFailsTheCheckpointNotTheStore) {
  auto e = MustOpen(Options(dir_.path()));
  State acked = WriteAcked(e.get(), 0, 30);
  fault::Arm(Fail(Op::kSyncDir, "/base"));
  uint64_t redo;
  EXPECT_EQ(e->Checkpoint(1, &redo).code(), Status::Code::kIoError);
  bool exists = true;
  ControlData c;
  ASSERT_TRUE(ReadControl(dir_.path(), &exists, &c).ok());
  EXPECT_FALSE(exists) << "control must not name a snapshot whose rename may not be durable";
  fault::Disarm();
  State more = WriteAcked(e.get(), 30, 40);
  EXPECT_EQ(more.size(), 10u);
  acked.insert(more.begin(), more.end());
  e->Close(false);
  e.reset();
  auto again = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*again), acked);
}

TEST_F(FaultTest, AFailedOpenOfTheNextSegmentFailsWritesAndLosesNothingAcked) {
  State acked;
  {
    auto e = MustOpen(Options(dir_.path()));
    fault::Arm(Fail(Op::kOpen, "/wal/0", 1, EMFILE));
    acked = WriteAcked(e.get(), 0, 1000, 1000);  // 64 KiB segments: rotates after ~60
    EXPECT_EQ(fault::Fired(), 1u);
    EXPECT_GT(acked.size(), 30u);
    EXPECT_LT(acked.size(), 1000u);
    uint64_t lsn;
    EXPECT_EQ(e->Put("later", "x", 0, -1, 1, &lsn).code(), Status::Code::kIoError);
  }
  fault::Disarm();
  auto e = MustOpen(Options(dir_.path()));
  ExpectContains(Dump(*e), acked);
}

TEST_F(FaultTest, AFailedWalDirectoryFsyncOnRotationFailsWritesAndLosesNothingAcked) {
  State acked;
  {
    auto e = MustOpen(Options(dir_.path()));
    fault::Arm(Fail(Op::kSyncDir, "/wal"));
    acked = WriteAcked(e.get(), 0, 1000, 1000);
    EXPECT_EQ(fault::Fired(), 1u);
    EXPECT_LT(acked.size(), 1000u);
  }
  fault::Disarm();
  auto e = MustOpen(Options(dir_.path()));
  ExpectContains(Dump(*e), acked);
}

// The child writes k0..k199 (each durable), checkpoints once, writes k200..k399, and
// starts a second checkpoint that dies at `crash`.
State CheckpointCrashWorkload(const std::string& dir, const Rule& crash, bool first_checkpoint) {
  auto e = MustOpen(Options(dir));
  State written;
  auto write = [&](int from, int to) {
    for (int i = from; i < to; i++) {
      std::string k = "k" + std::to_string(i);
      std::string v = k + std::string(500, 'x');
      uint64_t lsn;
      if (!e->Put(k, v, 0, -1, 1, &lsn).ok()) ::_exit(2);
      written[k] = testing::Value{v, lsn, 0};
    }
    e->WaitDurable();
  };
  write(0, 200);
  uint64_t redo;
  if (!first_checkpoint && !e->Checkpoint(1, &redo).ok()) ::_exit(3);
  write(200, 400);
  fault::Arm(crash);
  e->Checkpoint(1, &redo);
  return written;
}

State ExpectedWorkloadState() {
  State s;
  for (int i = 0; i < 400; i++) {
    std::string k = "k" + std::to_string(i);
    s[k] = testing::Value{k + std::string(500, 'x'), static_cast<uint64_t>(i + 1), 0};
  }
  return s;
}

TEST_F(FaultTest, ACrashBetweenSnapshotRenameAndControlUpdateRecoversFromTheOldCheckpoint) {
  CrashInChild([&] { CheckpointCrashWorkload(dir_.path(), Fail(Op::kOpen, "control.tmp", 1, 0, Action::kCrash), false); });
  EXPECT_EQ(Files(dir_ / "base").size(), 2u) << "the new snapshot was renamed, the old one is still named";
  uint64_t old_redo = Control().redo_lsn;
  EXPECT_EQ(old_redo, 201u);
  auto e = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*e), ExpectedWorkloadState());
  EXPECT_EQ(e->Stats().last_checkpoint_lsn, old_redo);
  uint64_t redo;
  ASSERT_TRUE(e->Checkpoint(1, &redo).ok());
  EXPECT_EQ(Files(dir_ / "base"), std::vector<std::string>{SnapshotName(redo)}) << "the orphan is cleaned up";
}

TEST_F(FaultTest, ACrashBeforeTheFirstControlIsWrittenReplaysTheWholeLog) {
  CrashInChild([&] { CheckpointCrashWorkload(dir_.path(), Fail(Op::kOpen, "control.tmp", 1, 0, Action::kCrash), true); });
  EXPECT_FALSE(std::filesystem::exists(dir_ / "control"));
  auto e = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*e), ExpectedWorkloadState());
}

TEST_F(FaultTest, ACrashAfterControlUpdateBeforeOldSegmentsAreRemovedRecoversFromTheNewCheckpoint) {
  CrashInChild([&] { CheckpointCrashWorkload(dir_.path(), Fail(Op::kUnlink, "/wal/", 1, 0, Action::kCrash), false); });
  EXPECT_EQ(Control().redo_lsn, 401u) << "control names the new checkpoint";
  size_t segments_before = Files(dir_ / "wal").size();
  // The first segment after the old redo point lies wholly before the new one: the crashed
  // checkpoint was about to remove it.
  EXPECT_TRUE(std::filesystem::exists(dir_ / ("wal/" + SegmentName(201)))) << "the old segments are still there";
  auto e = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*e), ExpectedWorkloadState());
  EXPECT_EQ(e->NextLsn(), 401u);
  uint64_t redo;
  ASSERT_TRUE(e->Checkpoint(1, &redo).ok());
  EXPECT_LT(Files(dir_ / "wal").size(), segments_before) << "the next checkpoint drops them";
  e->Close(false);
  e.reset();
  auto again = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*again), ExpectedWorkloadState());
}

TEST_F(FaultTest, ACrashBeforeOldSnapshotsAreRemovedRecoversFromTheNewCheckpoint) {
  CrashInChild([&] { CheckpointCrashWorkload(dir_.path(), Fail(Op::kUnlink, "/base/", 1, 0, Action::kCrash), false); });
  EXPECT_EQ(Control().redo_lsn, 401u);
  EXPECT_EQ(Files(dir_ / "base").size(), 2u);
  auto e = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*e), ExpectedWorkloadState());
}

TEST_F(FaultTest, ACrashMidSnapshotWriteLeavesATmpThatIsIgnoredAndCleanedUp) {
  CrashInChild([&] { CheckpointCrashWorkload(dir_.path(), Fail(Op::kWrite, ".snap.tmp", 1, 0, Action::kCrash), false); });
  EXPECT_EQ(Control().redo_lsn, 201u);
  auto e = MustOpen(Options(dir_.path()));
  EXPECT_EQ(Dump(*e), ExpectedWorkloadState());
  uint64_t redo;
  ASSERT_TRUE(e->Checkpoint(1, &redo).ok());
  EXPECT_EQ(Files(dir_ / "base"), std::vector<std::string>{SnapshotName(redo)});
}

}  // namespace
}  // namespace kvstore

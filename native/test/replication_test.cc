// The engine primitives replication builds on (issue 14, docs/replication.md): reading the
// WAL from any LSN while the writer appends, a standby appending received records at the
// same LSNs and applying them like recovery, refusals that change nothing, promotion, and
// the flushed/applied LSNs. Each durability policy where it matters.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "coding.h"
#include "test_util.h"
#include "wal_format.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

using testing::Dump;
using testing::Files;
using testing::MustOpen;
using testing::Options;
using testing::ReadFile;
using testing::TempDir;

std::string PolicyName(const ::testing::TestParamInfo<Durability>& i) {
  return i.param == Durability::kAlways ? "always" : i.param == Durability::kInterval ? "interval" : "none";
}

void MustPut(Engine* e, const std::string& k, const std::string& v, uint64_t exp = 0) {
  uint64_t lsn = 0;
  Status s = e->Put(k, v, exp, -1, 1, &lsn);
  ASSERT_TRUE(s.ok()) << s.message();
}

// One framed record, as the WAL holds it.
std::string Record(uint64_t lsn, uint8_t kind, const std::string& body) {
  std::string out;
  size_t start = BeginRecord(&out);
  out.append(body);
  FinishRecord(&out, start, lsn, kind);
  return out;
}
std::string PutRecord(uint64_t lsn, const std::string& k, const std::string& v, uint64_t exp = 0) {
  std::string body;
  AppendPutBody(&body, k, v, exp);
  return Record(lsn, kKindPut, body);
}

// Every record from `from` up to the flushed LSN, in chunks of at most max_bytes.
std::string ReadAll(const Engine& e, uint64_t from, size_t max_bytes = 1 << 20) {
  std::string all;
  for (int i = 0; i < 100000; i++) {
    WalChunk c;
    Status s = e.ReadWal(from, max_bytes, &c);
    EXPECT_TRUE(s.ok()) << s.message();
    if (!s.ok() || c.records.empty()) break;
    EXPECT_EQ(c.first_lsn, from);
    all += c.records;
    from = c.last_lsn + 1;
  }
  return all;
}

// The LSNs of the records in `bytes`, checking each record's CRC.
std::vector<uint64_t> Lsns(const std::string& bytes) {
  std::vector<uint64_t> out;
  RecordView r;
  size_t at = 0;
  for (ReadResult rr; (rr = ReadRecord(bytes, at, &r)) != ReadResult::kEnd; at = r.next) {
    EXPECT_EQ(rr, ReadResult::kOk) << "at " << at;
    if (rr != ReadResult::kOk) break;
    out.push_back(r.lsn);
  }
  return out;
}

// Every segment's bytes from the one holding `from` on, concatenated: the WAL as on disk.
std::string SegmentBytes(const std::string& dir) {
  std::string all;
  for (const auto& n : Files(dir + "/wal")) all += ReadFile(dir + "/wal/" + n);
  return all;
}

// A primary with puts, an overwrite, a TTL, a delete, an incr and a batch.
void WriteMix(Engine* e, int n) {
  uint64_t lsn;
  int64_t r;
  for (int i = 0; i < n; i++) MustPut(e, "k" + std::to_string(i), std::string(static_cast<size_t>(20 + i % 50), 'v'));
  MustPut(e, "k1", "again");
  MustPut(e, "ttl", "x", 4102444800000ull);
  ASSERT_TRUE(e->Delete("k2", -1, 1, &lsn).ok());
  ASSERT_TRUE(e->Incr("counter", 7, 1, &lsn, &r).ok());
  std::string body;
  PutFixed32(&body, 2);
  body.push_back(static_cast<char>(kKindPut));
  AppendPutBody(&body, "b1", "one", 0);
  body.push_back(static_cast<char>(kKindDelete));
  AppendDeleteBody(&body, "k3");
  ASSERT_TRUE(e->Batch(body, 1, &lsn).ok());
}

EngineOptions StandbyOptions(const std::string& dir, Durability d = Durability::kAlways) {
  EngineOptions o = Options(dir, d);
  o.role = Role::kStandby;
  return o;
}

// Appends `records` and waits until they are applied.
Status Replicate(Engine* standby, const std::string& records, uint64_t first) {
  uint64_t last = 0;
  Status s = standby->AppendReplicated(records, first, &last);
  if (!s.ok()) return s;
  return standby->WaitApplied(last);
}

class ReadWalTest : public ::testing::TestWithParam<Durability> {
 protected:
  TempDir dir_;
};

TEST_P(ReadWalTest, ReturnsTheOnDiskBytesFromAnyLsnAcrossSegments) {
  EngineOptions o = Options(dir_.path(), GetParam());
  o.wal_segment_bytes = 2048;
  auto e = MustOpen(o);
  WriteMix(e.get(), 200);
  e->WaitDurable();  // syncs under interval; under none only a close or rotation syncs
  ASSERT_TRUE(e->Close(false).ok());
  e = MustOpen(o);  // the reopen syncs what it replayed: every record is flushed now
  ASSERT_GT(Files(dir_ / "wal").size(), 5u);
  EXPECT_EQ(e->Positions().flushed_lsn, 205u);
  std::string all = ReadAll(*e, 1, 700);
  EXPECT_EQ(all, SegmentBytes(dir_.path())) << "the stream is the WAL, byte for byte";
  std::vector<uint64_t> lsns = Lsns(all);
  ASSERT_EQ(lsns.size(), 205u);
  for (size_t i = 0; i < lsns.size(); i++) EXPECT_EQ(lsns[i], i + 1);
  std::vector<uint64_t> tail = Lsns(ReadAll(*e, 150, 100));
  ASSERT_EQ(tail.size(), 56u);
  EXPECT_EQ(tail.front(), 150u);
}

TEST_P(ReadWalTest, NeverReturnsARecordBeforeItIsFdatasynced) {
  EngineOptions o = Options(dir_.path(), GetParam());
  o.interval_ms = 1000;  // interval: the first timed sync comes a second after open
  auto e = MustOpen(o);
  MustPut(e.get(), "a", "1");
  MustPut(e.get(), "b", "2");
  if (GetParam() != Durability::kAlways) {
    // Written to the kernel (durable for this policy) is not flushed.
    for (int i = 0; i < 200 && e->Positions().durable_lsn < 2; i++) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(e->Positions().durable_lsn, 2u);
    WalChunk c;
    ASSERT_TRUE(e->ReadWal(1, 1 << 20, &c).ok());
    EXPECT_TRUE(c.records.empty());
    EXPECT_EQ(c.last_lsn, 0u);
    EXPECT_EQ(e->Positions().flushed_lsn, 0u);
  }
  if (GetParam() == Durability::kNone) return;  // nothing syncs before close
  for (int i = 0; i < 500 && e->Positions().flushed_lsn < 2; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(e->Positions().flushed_lsn, 2u);
  EXPECT_EQ(Lsns(ReadAll(*e, 1)), (std::vector<uint64_t>{1, 2}));
}

INSTANTIATE_TEST_SUITE_P(Durabilities, ReadWalTest,
                         ::testing::Values(Durability::kAlways, Durability::kInterval, Durability::kNone), PolicyName);

TEST(ReadWal, ALargeFirstRecordComesAloneAndMaxBytesBoundsTheRest) {
  TempDir dir;
  auto e = MustOpen(Options(dir.path()));
  MustPut(e.get(), "big", std::string(5000, 'x'));
  MustPut(e.get(), "s1", "1");
  MustPut(e.get(), "s2", "2");
  e->WaitDurable();
  WalChunk c;
  ASSERT_TRUE(e->ReadWal(1, 100, &c).ok());
  EXPECT_EQ(Lsns(c.records), (std::vector<uint64_t>{1}));
  ASSERT_TRUE(e->ReadWal(2, 2 * (kRecordHeaderSize + kPutFixedSize + 3), &c).ok());
  EXPECT_EQ(Lsns(c.records), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(c.last_lsn, 3u);
}

TEST(ReadWal, AnLsnDroppedByACheckpointIsWalCompacted) {
  TempDir dir;
  EngineOptions o = Options(dir.path());
  o.wal_segment_bytes = 1024;
  auto e = MustOpen(o);
  WriteMix(e.get(), 100);
  e->WaitDurable();
  uint64_t redo;
  ASSERT_TRUE(e->Checkpoint(1, &redo).ok());
  WalChunk c;
  EXPECT_EQ(e->ReadWal(1, 1 << 20, &c).code(), Status::Code::kWalCompacted);
  MustPut(e.get(), "after", "1");
  e->WaitDurable();
  EXPECT_EQ(Lsns(ReadAll(*e, redo)).back(), redo) << "from the redo LSN on, the WAL is kept";
}

TEST(ReadWal, PastTheEndIsLsnMismatchAndAtTheEndIsEmpty) {
  TempDir dir;
  auto e = MustOpen(Options(dir.path()));
  MustPut(e.get(), "a", "1");
  e->WaitDurable();
  WalChunk c;
  ASSERT_TRUE(e->ReadWal(2, 1 << 20, &c).ok());
  EXPECT_TRUE(c.records.empty());
  EXPECT_EQ(c.last_lsn, 1u);
  EXPECT_EQ(e->ReadWal(3, 1 << 20, &c).code(), Status::Code::kLsnMismatch);
  EXPECT_EQ(e->ReadWal(0, 1 << 20, &c).code(), Status::Code::kInvalidArgument);
}

TEST(ReadWal, ACorruptRecordOnDiskIsReportedNotStreamed) {
  TempDir dir;
  auto e = MustOpen(Options(dir.path()));
  MustPut(e.get(), "a", "1");
  MustPut(e.get(), "b", "2");
  e->WaitDurable();
  std::string seg = dir / ("wal/" + Files(dir / "wal").front());
  testing::SetByte(seg, ReadFile(seg).size() - 1, 'Z');  // the second record's last byte
  WalChunk c;
  EXPECT_EQ(e->ReadWal(2, 1 << 20, &c).code(), Status::Code::kCorruption);
}

TEST(ReadWal, AReaderFollowsTheLogWhileAWriterAppends) {
  TempDir dir;
  EngineOptions o = Options(dir.path(), Durability::kInterval);
  o.wal_segment_bytes = 4096;
  auto e = MustOpen(o);
  constexpr uint64_t kRecords = 3000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kRecords; i++) MustPut(e.get(), "k" + std::to_string(i % 97), std::to_string(i));
    e->WaitDurable();
  });
  uint64_t next = 1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (next <= kRecords && std::chrono::steady_clock::now() < deadline) {
    WalChunk c;
    Status s = e->ReadWal(next, 1500, &c);
    ASSERT_TRUE(s.ok()) << s.message();
    std::vector<uint64_t> lsns = Lsns(c.records);
    for (uint64_t l : lsns) ASSERT_EQ(l, next++);
    ASSERT_LE(c.last_lsn, e->Positions().flushed_lsn);
    if (lsns.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  writer.join();
  EXPECT_EQ(next, kRecords + 1);
}

// ---------------------------------------------------------------- standby

class StandbyTest : public ::testing::TestWithParam<Durability> {
 protected:
  TempDir primary_dir_;
  TempDir standby_dir_;
};

TEST_P(StandbyTest, AppendedRecordsEndInTheSameStateAndTheSameWal) {
  EngineOptions po = Options(primary_dir_.path(), GetParam());
  po.wal_segment_bytes = 2048;
  auto p = MustOpen(po);
  WriteMix(p.get(), 150);
  p->WaitDurable();
  ASSERT_TRUE(p->Close(false).ok());
  p = MustOpen(po);
  std::string wal = ReadAll(*p, 1);
  EngineOptions so = StandbyOptions(standby_dir_.path(), GetParam());
  so.wal_segment_bytes = 2048;
  auto s = MustOpen(so);
  // In uneven chunks, as a stream would deliver them.
  uint64_t next = 1;
  for (size_t at = 0; at < wal.size();) {
    WalChunk c;
    ASSERT_TRUE(p->ReadWal(next, 300 + at % 700, &c).ok());
    Status st = Replicate(s.get(), c.records, next);
    ASSERT_TRUE(st.ok()) << st.message();
    next = c.last_lsn + 1;
    at += c.records.size();
  }
  WalPositions pos = s->Positions();
  EXPECT_EQ(pos.next_lsn, p->NextLsn());
  EXPECT_EQ(pos.flushed_lsn, pos.next_lsn - 1) << "fdatasynced whatever the policy";
  EXPECT_EQ(pos.applied_lsn, pos.next_lsn - 1);
  EXPECT_EQ(Dump(*s), Dump(*p));
  EXPECT_EQ(ReadAll(*s, 1), wal) << "the standby's WAL holds the same records at the same LSNs";
  ASSERT_TRUE(s->Close(false).ok());
  s = MustOpen(so);
  EXPECT_EQ(Dump(*s), Dump(*p)) << "a restarted standby recovers what it received";
  EXPECT_EQ(s->NextLsn(), p->NextLsn());
}

TEST_P(StandbyTest, ClientWritesAreReadOnlyUntilPromotion) {
  auto s = MustOpen(StandbyOptions(standby_dir_.path(), GetParam()));
  uint64_t lsn;
  int64_t r;
  EXPECT_EQ(s->Put("a", "1", 0, -1, 1, &lsn).code(), Status::Code::kReadOnly);
  EXPECT_EQ(s->Delete("a", -1, 1, &lsn).code(), Status::Code::kReadOnly);
  EXPECT_EQ(s->Incr("a", 1, 1, &lsn, &r).code(), Status::Code::kReadOnly);
  std::string body;
  PutFixed32(&body, 1);
  body.push_back(static_cast<char>(kKindPut));
  AppendPutBody(&body, "a", "1", 0);
  EXPECT_EQ(s->Batch(body, 1, &lsn).code(), Status::Code::kReadOnly);
  ASSERT_TRUE(Replicate(s.get(), PutRecord(1, "a", "from primary"), 1).ok());
  ASSERT_TRUE(s->Promote().ok());
  EXPECT_EQ(s->role(), Role::kPrimary);
  ASSERT_TRUE(s->Put("b", "local", 0, -1, 1, &lsn).ok());
  EXPECT_EQ(lsn, 2u) << "the promoted standby continues the log";
  ASSERT_TRUE(s->Put("a", "cas", 0, 1, 1, &lsn).ok()) << "conditions see the replicated version";
  uint64_t last;
  EXPECT_EQ(s->AppendReplicated(PutRecord(4, "c", "x"), 4, &last).code(), Status::Code::kNotStandby);
  EXPECT_EQ(s->Promote().code(), Status::Code::kNotStandby);
}

INSTANTIATE_TEST_SUITE_P(Durabilities, StandbyTest,
                         ::testing::Values(Durability::kAlways, Durability::kInterval, Durability::kNone), PolicyName);

// Refusals: each leaves the standby exactly as it was (positions, data, WAL files).
class StandbyRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    s_ = MustOpen(StandbyOptions(dir_.path()));
    ASSERT_TRUE(Replicate(s_.get(), PutRecord(1, "a", "1") + PutRecord(2, "b", "2"), 1).ok());
    wal_ = SegmentBytes(dir_.path());
    state_ = Dump(*s_);
  }
  void ExpectRefused(const std::string& records, uint64_t first, Status::Code code) {
    uint64_t last = 0;
    EXPECT_EQ(s_->AppendReplicated(records, first, &last).code(), code);
    s_->WaitDurable();
    EXPECT_EQ(s_->NextLsn(), 3u);
    EXPECT_EQ(s_->Positions().applied_lsn, 2u);
    EXPECT_EQ(Dump(*s_), state_);
    EXPECT_EQ(SegmentBytes(dir_.path()), wal_);
  }
  TempDir dir_;
  std::unique_ptr<Engine> s_;
  std::string wal_;
  testing::State state_;
};

TEST_F(StandbyRefusalTest, AGapIsLsnMismatch) { ExpectRefused(PutRecord(4, "c", "3"), 4, Status::Code::kLsnMismatch); }
TEST_F(StandbyRefusalTest, ADuplicateIsLsnMismatch) { ExpectRefused(PutRecord(2, "b", "again"), 2, Status::Code::kLsnMismatch); }
TEST_F(StandbyRefusalTest, RecordsOutOfOrderAreLsnMismatch) {
  ExpectRefused(PutRecord(3, "c", "3") + PutRecord(5, "e", "5") + PutRecord(4, "d", "4"), 3, Status::Code::kLsnMismatch);
}
TEST_F(StandbyRefusalTest, AFirstLsnTheRecordsDoNotCarryIsLsnMismatch) {
  ExpectRefused(PutRecord(4, "c", "3"), 3, Status::Code::kLsnMismatch);
}
TEST_F(StandbyRefusalTest, ABadCrcIsBadRecordEvenAfterGoodOnes) {
  std::string bad = PutRecord(4, "d", "4");
  bad.back() ^= 1;
  ExpectRefused(PutRecord(3, "c", "3") + bad, 3, Status::Code::kBadRecord);
}
TEST_F(StandbyRefusalTest, ATornRecordIsBadRecord) {
  std::string torn = PutRecord(3, "c", "3");
  torn.pop_back();
  ExpectRefused(torn, 3, Status::Code::kBadRecord);
}
TEST_F(StandbyRefusalTest, AnUnknownMandatoryKindIsBadRecord) {
  ExpectRefused(Record(3, 5, "whatever"), 3, Status::Code::kBadRecord);
}
TEST_F(StandbyRefusalTest, AMalformedBodyIsBadRecord) {
  ExpectRefused(Record(3, kKindPut, "short"), 3, Status::Code::kBadRecord);
}
TEST_F(StandbyRefusalTest, NothingIsInvalidArgument) { ExpectRefused("", 3, Status::Code::kInvalidArgument); }

TEST(Standby, APrimaryRefusesReplicatedRecords) {
  TempDir dir;
  auto e = MustOpen(Options(dir.path()));
  uint64_t last;
  EXPECT_EQ(e->AppendReplicated(PutRecord(1, "a", "1"), 1, &last).code(), Status::Code::kNotStandby);
  EXPECT_EQ(e->Promote().code(), Status::Code::kNotStandby);
  EXPECT_EQ(e->NextLsn(), 1u);
}

TEST(Standby, OptionalKindsAreKeptStreamedAndSkippedByApplyAndRecovery) {
  TempDir dir;
  EngineOptions o = StandbyOptions(dir.path());
  auto s = MustOpen(o);
  std::string chunk = PutRecord(1, "a", "1") + Record(2, 200, "timeline switch, say") + PutRecord(3, "b", "2");
  ASSERT_TRUE(Replicate(s.get(), chunk, 1).ok());
  EXPECT_EQ(s->Positions().applied_lsn, 3u);
  EXPECT_EQ(ReadAll(*s, 1), chunk) << "an optional record is streamed on as it is";
  testing::State want = Dump(*s);
  EXPECT_EQ(want.size(), 2u);
  EXPECT_EQ(want["b"].version, 3u);
  ASSERT_TRUE(s->Close(false).ok());
  s = MustOpen(o);
  EXPECT_EQ(Dump(*s), want);
  EXPECT_EQ(s->NextLsn(), 4u);
}

TEST(Standby, ListenersHearTheFlushedAndAppliedLsns) {
  TempDir dir;
  auto s = MustOpen(StandbyOptions(dir.path(), Durability::kNone));
  std::mutex mu;
  uint64_t flushed = 0;
  uint64_t applied = 0;
  s->AddListener([&](const EngineEvent& ev) {
    if (ev.type != EngineEvent::Type::kDurable) return;
    std::lock_guard<std::mutex> l(mu);
    flushed = std::max(flushed, ev.flushed_lsn);
    applied = std::max(applied, ev.applied_lsn);
  });
  ASSERT_TRUE(Replicate(s.get(), PutRecord(1, "a", "1") + PutRecord(2, "b", "2"), 1).ok());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(flushed, 2u);
  EXPECT_EQ(applied, 2u);
}

TEST(Standby, CheckpointsOnItsOwnAndKeepsReceiving) {
  TempDir dir;
  EngineOptions o = StandbyOptions(dir.path());
  o.wal_segment_bytes = 512;
  auto s = MustOpen(o);
  std::string chunk;
  for (uint64_t i = 1; i <= 60; i++) chunk += PutRecord(i, "k" + std::to_string(i % 7), std::to_string(i));
  ASSERT_TRUE(Replicate(s.get(), chunk, 1).ok());
  uint64_t redo;
  ASSERT_TRUE(s->Checkpoint(1, &redo).ok());
  EXPECT_EQ(redo, 61u);
  ASSERT_TRUE(Replicate(s.get(), PutRecord(61, "late", "x"), 61).ok());
  testing::State want = Dump(*s);
  ASSERT_TRUE(s->Close(false).ok());
  s = MustOpen(o);
  EXPECT_EQ(Dump(*s), want);
}

}  // namespace
}  // namespace kvstore

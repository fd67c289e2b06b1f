// Many threads at once on one engine: writers (puts, CAS puts, deletes, batches, counters,
// already-expired TTL puts), readers (point reads, scans, counts), a checkpointer running
// back to back, a TTL sweeper and a stats poller. Each writer owns a key prefix and keeps
// a model of it, so whatever the interleaving the exact final state (values and versions)
// is known; it must match after the threads stop, after Close and reopen, and after a
// final checkpoint and reopen. Readers check what must hold under any interleaving:
// every value read belongs to its key, scans are strictly ordered and within bounds.
// KVSTORE_STRESS_OPS sets the operations per writer (the sanitizer runs use fewer).
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "coding.h"
#include "test_util.h"
#include "wal_format.h"
#include "wal_writer.h"

namespace kvstore {
namespace {

using testing::Dump;
using testing::MustOpen;
using testing::State;
using testing::TempDir;

constexpr int64_t kNow = 1000;
constexpr int kWriters = 4;
constexpr int kReaders = 2;
constexpr int kKeysPerWriter = 400;

int OpsPerWriter() {
  const char* s = std::getenv("KVSTORE_STRESS_OPS");
  return s != nullptr ? std::max(100, std::atoi(s)) : 20000;
}

std::string KeyOf(int w, int k) { return "w" + std::to_string(w) + "/" + std::to_string(k); }

// Values name their key, so a reader can tell a torn or misplaced value.
std::string ValueOf(const std::string& key, uint64_t seq, size_t pad) {
  return key + "#" + std::to_string(seq) + std::string(pad, '.');
}

struct Failures {
  std::atomic<int> count{0};
  std::mutex mu;
  std::string first;
  void Add(const std::string& what) {
    if (count++ == 0) {
      std::lock_guard<std::mutex> l(mu);
      first = what;
    }
  }
};

class StressTest : public ::testing::TestWithParam<Durability> {};

TEST_P(StressTest, ConcurrentWritesReadsScansCheckpointsAndSweepsConvergeToTheModel) {
  TempDir dir;
  EngineOptions o = testing::Options(dir.path(), GetParam());
  o.shards = 16;
  o.wal_segment_bytes = 256 * 1024;
  o.checkpoint_wal_bytes = 1 << 20;  // automatic checkpoints too
  auto e = MustOpen(o);
  const bool always = GetParam() == Durability::kAlways;
  const int ops = always ? OpsPerWriter() / 4 : OpsPerWriter();

  Failures fail;
  std::atomic<bool> done{false};
  std::atomic<int64_t> counter_total{0};
  std::vector<State> models(kWriters);

  auto writer = [&](int w) {
    std::mt19937_64 rng(1234 + w);
    State& model = models[w];
    for (int i = 0; i < ops; i++) {
      std::string key = KeyOf(w, static_cast<int>(rng() % kKeysPerWriter));
      uint64_t lsn = 0;
      Status s;
      int roll = static_cast<int>(rng() % 100);
      if (roll < 40) {
        std::string v = ValueOf(key, i, rng() % 64);
        s = e->Put(key, v, 0, -1, kNow, &lsn);
        model[key] = testing::Value{v, lsn, 0};
      } else if (roll < 50) {
        // CAS against the version this thread knows (no one else writes its keys).
        auto it = model.find(key);
        int64_t ifv = it == model.end() ? 0 : static_cast<int64_t>(it->second.version);
        std::string v = ValueOf(key, i, 3);
        s = e->Put(key, v, 0, ifv, kNow, &lsn);
        model[key] = testing::Value{v, lsn, 0};
        if (s.ok()) {
          uint64_t stale;
          Status bad = e->Put(key, "stale", 0, ifv, kNow, &stale);
          if (bad.code() != Status::Code::kVersionMismatch) fail.Add("a stale CAS on " + key + " was not refused");
        }
      } else if (roll < 62) {
        s = e->Delete(key, -1, kNow, &lsn);
        if (s.ok() && (lsn == 0) != (model.count(key) == 0)) fail.Add("delete of " + key + " disagrees with the model");
        model.erase(key);
      } else if (roll < 70) {
        // Already expired at kNow: invisible at once, swept later, never in the state.
        s = e->Put(key, ValueOf(key, i, 0), kNow - 1, -1, kNow, &lsn);
        model.erase(key);
      } else if (roll < 80) {
        int64_t by = static_cast<int64_t>(rng() % 10) - 3;
        int64_t result;
        s = e->Incr("counter", by, kNow, &lsn, &result);
        if (s.ok()) counter_total += by;
      } else {
        std::string body;
        PutFixed32(&body, 3);
        std::vector<std::pair<std::string, std::string>> puts;
        for (int j = 0; j < 3; j++) {
          std::string k = KeyOf(w, static_cast<int>(rng() % kKeysPerWriter));
          std::string v = ValueOf(k, i, j);
          body.push_back(static_cast<char>(kKindPut));
          AppendPutBody(&body, k, v, 0);
          puts.emplace_back(k, v);
        }
        s = e->Batch(body, kNow, &lsn);
        for (const auto& [k, v] : puts) model[k] = testing::Value{v, lsn, 0};
      }
      if (!s.ok()) {
        fail.Add("write failed: " + s.message());
        return;
      }
      if (always && i % 64 != 0) continue;
      if (always) e->WaitDurable();
      // Read-your-writes for this thread's own key (applied at once unless `always`,
      // which was just waited for).
      std::string got = testing::Get(*e, key, kNow);
      auto it = model.find(key);
      std::string want = it == model.end() ? "<absent>" : it->second.value;
      if (got != want) fail.Add("read " + key + ": got " + got.substr(0, 30) + ", want " + want.substr(0, 30));
      if (i % 256 == 0) {
        std::string lo = "w" + std::to_string(w) + "/", hi = "w" + std::to_string(w) + "0";
        State seen;
        e->Scan(std::string_view(lo), std::string_view(hi), 0, false, kNow,
                [&](const Item& item) { seen[std::string(item.key())] = testing::Value{std::string(item.value()), item.version, 0}; });
        if (seen != model) fail.Add("scan of own prefix w" + std::to_string(w) + " differs from the model");
      }
    }
  };

  auto reader = [&](int r) {
    std::mt19937_64 rng(99 + r);
    while (!done) {
      std::string key = KeyOf(static_cast<int>(rng() % kWriters), static_cast<int>(rng() % kKeysPerWriter));
      e->Read(key, kNow, [&](const Item& item) {
        if (item.value().compare(0, key.size() + 1, key + "#") != 0) fail.Add("value of " + key + " belongs elsewhere");
      });
      std::string lo = KeyOf(static_cast<int>(rng() % kWriters), static_cast<int>(rng() % kKeysPerWriter));
      std::string hi = lo + "~";
      bool reverse = rng() % 2 == 0;
      std::string prev;
      size_t n = 0;
      e->Scan(std::string_view(lo), std::string_view(hi), 50, reverse, kNow, [&](const Item& item) {
        std::string k(item.key());
        if (k < lo || k >= hi) fail.Add("scan returned " + k + " outside [" + lo + ", " + hi + ")");
        if (n > 0 && (reverse ? !(k < prev) : !(prev < k))) fail.Add("scan out of order at " + k);
        if (item.value().compare(0, k.size() + 1, k + "#") != 0) fail.Add("scanned value of " + k + " belongs elsewhere");
        prev = k;
        n++;
      });
      if (n > 50) fail.Add("scan ignored its limit");
      if (rng() % 16 == 0) e->Count(std::nullopt, std::nullopt, kNow);
    }
  };

  std::atomic<int> checkpoints{0};
  auto checkpointer = [&] {
    while (!done) {
      uint64_t redo;
      Status s = e->Checkpoint(kNow, &redo);
      if (!s.ok()) fail.Add("checkpoint failed: " + s.message());
      checkpoints++;
    }
  };
  std::atomic<size_t> swept{0};
  auto sweeper = [&] {
    while (!done) {
      swept += e->Sweep(kNow, 64);
      e->Stats();
      std::this_thread::yield();
    }
  };

  std::vector<std::thread> writers, others;
  for (int w = 0; w < kWriters; w++) writers.emplace_back(writer, w);
  for (int r = 0; r < kReaders; r++) others.emplace_back(reader, r);
  others.emplace_back(checkpointer);
  others.emplace_back(sweeper);
  for (auto& t : writers) t.join();
  done = true;
  for (auto& t : others) t.join();
  ASSERT_EQ(fail.count.load(), 0) << fail.first;
  EXPECT_GT(checkpoints.load(), 0);

  e->WaitDurable();
  State want;
  for (const State& m : models) want.insert(m.begin(), m.end());
  State got = Dump(*e, kNow);
  auto counter = got.find("counter");
  if (counter_total.load() != 0 || counter != got.end()) {
    ASSERT_NE(counter, got.end());
    EXPECT_EQ(counter->second.value, std::to_string(counter_total.load()));
    want["counter"] = counter->second;
    got.erase("counter");
    want.erase("counter");
  }
  EXPECT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want) << "final state differs from the model";
  State full = Dump(*e, kNow);
  ASSERT_TRUE(e->Close(false).ok());
  e.reset();

  auto again = MustOpen(o);
  EXPECT_TRUE(Dump(*again, kNow) == full) << "recovery after close gave another state";
  ASSERT_TRUE(again->Close(true).ok());
  again.reset();
  auto third = MustOpen(o);
  EXPECT_TRUE(Dump(*third, kNow) == full) << "recovery from the final checkpoint gave another state";
}

INSTANTIATE_TEST_SUITE_P(Durabilities, StressTest, ::testing::Values(Durability::kNone, Durability::kAlways),
                         [](const ::testing::TestParamInfo<Durability>& i) {
                           return std::string(i.param == Durability::kAlways ? "always" : "none");
                         });

}  // namespace
}  // namespace kvstore

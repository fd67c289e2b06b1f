// Writes the fuzzers' seed corpora from real stores: `make_corpus native/fuzz/corpus`
// builds a few stores with the engine (puts, deletes, counters, batches, TTLs, small
// segments, checkpoints, a torn tail) and copies their WAL segments, snapshots, control
// files and whole directories (archive.h) into <out>/{wal,snapshot,control,recovery}.
// Deterministic apart from the checkpoint times in control files.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "archive.h"
#include "coding.h"
#include "engine.h"
#include "wal_format.h"

namespace kvstore {
namespace {

namespace fs = std::filesystem;

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "make_corpus: %s: %s\n", what, s.message().c_str());
    std::exit(1);
  }
}

std::unique_ptr<Engine> OpenStore(const std::string& dir, uint64_t segment_bytes) {
  EngineOptions o;
  o.dir = dir;
  o.shards = 4;
  o.durability = Durability::kNone;
  o.wal_segment_bytes = segment_bytes;
  std::vector<LogLine> logs;
  std::unique_ptr<Engine> e;
  Check(Engine::Open(o, &logs, &e), "open");
  return e;
}

void Workload(Engine* e, int from, int to) {
  uint64_t lsn;
  int64_t r;
  for (int i = from; i < to; i++) {
    std::string k = "key" + std::to_string(i % 23);
    switch (i % 6) {
      case 0: Check(e->Put(k, "value-" + std::to_string(i), 0, -1, 1, &lsn), "put"); break;
      case 1: Check(e->Put(k, std::string(i % 40, 'v'), 4102444800000, -1, 1, &lsn), "put ttl"); break;
      case 2: Check(e->Delete(k, -1, 1, &lsn), "delete"); break;
      case 3: Check(e->Incr("counter", i, 1, &lsn, &r), "incr"); break;
      case 4: {
        std::string body;
        PutFixed32(&body, 2);
        body.push_back(static_cast<char>(kKindPut));
        AppendPutBody(&body, "b" + std::to_string(i), "batch", 0);
        body.push_back(static_cast<char>(kKindDelete));
        AppendDeleteBody(&body, k);
        Check(e->Batch(body, 1, &lsn), "batch");
        break;
      }
      default: {
        // A CAS that may or may not match: both outcomes are fine, neither writes a bad record.
        Status s = e->Put(k, "cas", 0, 0, 1, &lsn);
        if (!s.ok() && s.code() != Status::Code::kVersionMismatch) Check(s, "cas");
        break;
      }
    }
  }
  e->WaitDurable();
}

void Emit(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void Harvest(const std::string& store, const std::string& name, const fs::path& out) {
  for (const auto& e : fs::directory_iterator(store + "/wal")) {
    if (fs::file_size(e.path()) > 0) Emit(out / "wal" / (name + "-" + e.path().filename().string()), fuzz::ReadAll(e.path()));
  }
  for (const auto& e : fs::directory_iterator(store + "/base")) {
    Emit(out / "snapshot" / (name + "-" + e.path().filename().string()), fuzz::ReadAll(e.path()));
  }
  if (fs::exists(store + "/control")) Emit(out / "control" / (name + "-control"), fuzz::ReadAll(store + "/control"));
  Emit(out / "recovery" / (name + ".kvar"), fuzz::Pack(store, 0));
  Emit(out / "recovery" / (name + "-truncate-8-shards.kvar"), fuzz::Pack(store, 1 | (3 << 1)));
}

}  // namespace
}  // namespace kvstore

int main(int argc, char** argv) {
  using namespace kvstore;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  const fs::path out = argv[1];
  const std::string work = (fs::temp_directory_path() / "kvstore-make-corpus").string();
  fs::remove_all(work);
  uint64_t redo;

  // wal-only: one segment, no checkpoint.
  {
    auto e = OpenStore(work + "/wal-only", 1 << 20);
    Workload(e.get(), 0, 40);
    Check(e->Close(false), "close");
  }
  Harvest(work + "/wal-only", "wal-only", out);

  // checkpointed: small segments, a checkpoint mid-way, more writes after it.
  {
    auto e = OpenStore(work + "/checkpointed", 512);
    Workload(e.get(), 0, 30);
    Check(e->Checkpoint(1, &redo), "checkpoint");
    Workload(e.get(), 30, 50);
    Check(e->Close(false), "close");
  }
  Harvest(work + "/checkpointed", "checkpointed", out);

  // closed-clean: a final checkpoint at close, nothing left to replay.
  {
    auto e = OpenStore(work + "/closed-clean", 4096);
    Workload(e.get(), 0, 25);
    Check(e->Close(true), "close");
  }
  Harvest(work + "/closed-clean", "closed-clean", out);

  // torn-tail: the last record cut short (a crash mid-write).
  {
    auto e = OpenStore(work + "/torn-tail", 1 << 20);
    Workload(e.get(), 0, 12);
    Check(e->Close(false), "close");
  }
  std::string seg = work + "/torn-tail/wal/" + SegmentName(1);
  fs::resize_file(seg, fs::file_size(seg) - 5);
  Emit(out / "recovery" / "torn-tail.kvar", fuzz::Pack(work + "/torn-tail", 0));

  fs::remove_all(work);
  std::printf("corpus written to %s\n", out.c_str());
  return 0;
}

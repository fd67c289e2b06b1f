// Applying changes to the sharded table. ApplyRecord is the one way a WAL record reaches
// the table: crash recovery calls it for every replayed record. The write path applies
// the changes it has already decoded through ApplyChanges / ApplyStaged, the same shard
// mutations under the same locks.
#include <algorithm>

#include "engine.h"
#include "wal_format.h"

namespace kvstore {

Status Engine::ApplyRecord(uint64_t lsn, uint8_t kind, std::string_view body, std::vector<Change>* scratch) {
  if (kind >= kKindFirstSkippable) return Status::Ok();  // optional kind: skipped, its LSN still counts
  std::string why;
  if (!DecodeBody(kind, body, scratch, &why)) return Status::Corruption(why);
  ApplyChanges(*scratch, lsn);
  return Status::Ok();
}

void Engine::ApplyChanges(const std::vector<Change>& changes, uint64_t lsn) {
  if (changes.size() == 1) {
    const Change& c = changes[0];
    uint64_t h = HashKey(c.key);
    Shard& shard = ShardFor(h);
    std::unique_lock<std::shared_mutex> lock(shard.mu);
    if (c.is_put) {
      shard.Put(c.key, h, c.value, lsn, c.expires_at);
    } else {
      shard.Erase(c.key, h);
    }
    return;
  }
  // A batch: hold every touched shard (in index order) so no reader sees half of it.
  std::vector<uint64_t> hashes;
  std::vector<size_t> idx;
  hashes.reserve(changes.size());
  for (const Change& c : changes) {
    hashes.push_back(HashKey(c.key));
    idx.push_back(ShardIndex(hashes.back()));
  }
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  locks.reserve(idx.size());
  for (size_t i : idx) locks.emplace_back(shards_[i].mu);
  for (size_t i = 0; i < changes.size(); i++) {
    const Change& c = changes[i];
    if (c.is_put) {
      ShardFor(hashes[i]).Put(c.key, hashes[i], c.value, lsn, c.expires_at);
    } else {
      ShardFor(hashes[i]).Erase(c.key, hashes[i]);
    }
  }
}

void Engine::ApplyStaged(const StagedRecord& rec) {
  if (!rec.replicated.empty()) {
    // Received records, checked whole by AppendReplicated before they were staged.
    std::vector<Change> scratch;
    RecordView r;
    for (size_t at = 0; ReadRecord(rec.replicated, at, &r) == ReadResult::kOk; at = r.next) {
      Status s = ApplyRecord(r.lsn, r.kind, r.body, &scratch);
      if (!s.ok()) EmitLog("error", "replicated record " + std::to_string(r.lsn) + " not applied: " + s.message());
    }
    return;
  }
  std::vector<size_t> idx;
  for (const StagedChange& c : rec.changes) idx.push_back(ShardIndex(c.hash));
  std::sort(idx.begin(), idx.end());
  idx.erase(std::unique(idx.begin(), idx.end()), idx.end());
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  locks.reserve(idx.size());
  for (size_t i : idx) locks.emplace_back(shards_[i].mu);
  for (const StagedChange& c : rec.changes) {
    if (c.is_put) {
      ShardFor(c.hash).Put(c.key, c.hash, c.value, rec.lsn, c.expires_at);
    } else {
      ShardFor(c.hash).Erase(c.key, c.hash);
    }
  }
}

}  // namespace kvstore

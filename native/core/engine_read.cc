// The read path beyond single-key reads (engine.h): ordered scans merged across shards,
// counts, and the incremental TTL sweep.
#include <algorithm>
#include <queue>

#include "engine.h"

namespace kvstore {
namespace {

bool InRange(std::string_view key, const KeyBound& start, const KeyBound& end) {
  if (start && CompareKeys(key, *start) < 0) return false;
  if (end && CompareKeys(key, *end) >= 0) return false;
  return true;
}

}  // namespace

void Engine::Scan(KeyBound start, KeyBound end, size_t limit, bool reverse, int64_t now,
                  const std::function<void(const Item&)>& visit) const {
  if (closed_) return;
  const size_t n = shard_mask_ + 1;
  std::vector<std::shared_lock<std::shared_mutex>> locks;
  locks.reserve(n);
  for (size_t i = 0; i < n; i++) locks.emplace_back(shards_[i].mu);
  struct Cursor {
    const OrderedIndex* index;
    OrderedIndex::Pos pos;
  };
  std::vector<Cursor> cursors;
  cursors.reserve(n);
  for (size_t i = 0; i < n; i++) {
    const OrderedIndex& ix = shards_[i].index();
    if (ix.empty()) continue;
    OrderedIndex::Pos p;
    if (!reverse) {
      p = start ? ix.LowerBound(*start) : ix.Begin();
      if (ix.AtEnd(p)) continue;
    } else {
      p = end ? ix.LowerBound(*end) : ix.End();
      if (!ix.Prev(&p)) continue;
    }
    cursors.push_back(Cursor{&ix, p});
  }
  auto key_of = [](const Cursor& c) { return c.index->At(c.pos)->key(); };
  auto cmp = [&](size_t a, size_t b) {
    int c = CompareKeys(key_of(cursors[a]), key_of(cursors[b]));
    return reverse ? c < 0 : c > 0;  // min-heap forward, max-heap reverse
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(cmp)> heap(cmp);
  for (size_t i = 0; i < cursors.size(); i++) heap.push(i);
  size_t emitted = 0;
  while (!heap.empty()) {
    size_t ci = heap.top();
    heap.pop();
    Cursor& c = cursors[ci];
    const Item* item = c.index->At(c.pos);
    if (!InRange(item->key(), start, end)) {
      // Forward: past `end`, and so is everything after it. Reverse: before `start`.
      continue;
    }
    if (item->Live(now)) {
      visit(*item);
      if (limit > 0 && ++emitted >= limit) break;
    }
    bool more;
    if (!reverse) {
      c.index->Next(&c.pos);
      more = !c.index->AtEnd(c.pos);
    } else {
      more = c.index->Prev(&c.pos);
    }
    if (more) heap.push(ci);
  }
}

uint64_t Engine::Count(KeyBound start, KeyBound end, int64_t now) const {
  if (closed_) return 0;
  uint64_t total = 0;
  const size_t n = shard_mask_ + 1;
  for (size_t i = 0; i < n; i++) {
    const Shard& shard = shards_[i];
    std::shared_lock<std::shared_mutex> lock(shard.mu);
    const OrderedIndex& ix = shard.index();
    if (ix.empty()) continue;
    if (!start && !end) {
      // Whole table: the hash table's count minus the expired ones.
      for (OrderedIndex::Pos p = ix.Begin(); !ix.AtEnd(p); ix.Next(&p)) {
        if (ix.At(p)->Live(now)) total++;
      }
      continue;
    }
    for (OrderedIndex::Pos p = start ? ix.LowerBound(*start) : ix.Begin(); !ix.AtEnd(p); ix.Next(&p)) {
      const Item* item = ix.At(p);
      if (end && CompareKeys(item->key(), *end) >= 0) break;
      if (item->Live(now)) total++;
    }
  }
  return total;
}

size_t Engine::Sweep(int64_t now, size_t budget) {
  std::lock_guard<std::mutex> l(sweep_mu_);
  size_t removed = 0;
  const size_t n = shard_mask_ + 1;
  for (size_t visited = 0; visited <= n && budget > 0; visited++) {
    Shard& shard = shards_[sweep_shard_];
    size_t examined = 0;
    bool wrapped = false;
    {
      std::unique_lock<std::shared_mutex> lock(shard.mu);
      removed += shard.Sweep(now, budget, &examined, &wrapped);
    }
    budget -= std::min(budget, examined);
    if (!wrapped) break;
    sweep_shard_ = (sweep_shard_ + 1) & shard_mask_;
  }
  return removed;
}

}  // namespace kvstore

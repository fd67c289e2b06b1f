#include "shard_table.h"

#include <malloc.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <new>

namespace kvstore {
namespace {

inline uint64_t Mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

Item* NewItem(std::string_view key, std::string_view value, uint64_t version, uint64_t expires_at) {
  void* mem = std::malloc(sizeof(Item) + key.size() + value.size());
  if (mem == nullptr) throw std::bad_alloc();
  Item* item = static_cast<Item*>(mem);
  item->version = version;
  item->expires_at = expires_at;
  item->klen = static_cast<uint32_t>(key.size());
  item->vlen = static_cast<uint32_t>(value.size());
  char* p = reinterpret_cast<char*>(item + 1);
  std::memcpy(p, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + key.size(), value.data(), value.size());
  return item;
}

void FreeItem(Item* item) { std::free(item); }

bool ItemLess(const Item* a, std::string_view key) { return CompareKeys(a->key(), key) < 0; }

}  // namespace

uint64_t HashKey(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mix(h ^ w, 0xBF58476D1CE4E5B9ull);
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n > 0) std::memcpy(&w, p, n);
  h = Mix(h ^ w, 0x94D049BB133111EBull);
  return Mix(h, 0x2545F4914F6CDD1Dull);
}

// ------------------------------------------------------------------ OrderedIndex

OrderedIndex::Pos OrderedIndex::LowerBound(std::string_view key) const {
  // First chunk whose last key is >= key.
  size_t lo = 0, hi = chunks_.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (CompareKeys(chunks_[mid].back()->key(), key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == chunks_.size()) return End();
  const auto& c = chunks_[lo];
  size_t idx = static_cast<size_t>(std::lower_bound(c.begin(), c.end(), key, ItemLess) - c.begin());
  return Pos{lo, idx};
}

void OrderedIndex::Next(Pos* p) const {
  if (++p->idx >= chunks_[p->chunk].size()) {
    p->chunk++;
    p->idx = 0;
  }
}

bool OrderedIndex::Prev(Pos* p) const {
  if (p->idx > 0 && p->chunk < chunks_.size()) {
    p->idx--;
    return true;
  }
  if (p->chunk == 0) return false;
  p->chunk--;
  p->idx = chunks_[p->chunk].size() - 1;
  return true;
}

void OrderedIndex::Insert(Item* item) {
  std::string_view key = item->key();
  if (chunks_.empty()) {
    chunks_.emplace_back();
    chunks_.back().reserve(16);
    chunks_.back().push_back(item);
    return;
  }
  Pos p = LowerBound(key);
  if (AtEnd(p)) p = Pos{chunks_.size() - 1, chunks_.back().size()};
  auto& c = chunks_[p.chunk];
  c.insert(c.begin() + static_cast<ptrdiff_t>(p.idx), item);
  if (c.size() > kMaxChunk) {
    size_t half = c.size() / 2;
    std::vector<Item*> upper(c.begin() + static_cast<ptrdiff_t>(half), c.end());
    c.resize(half);
    c.shrink_to_fit();
    chunks_.insert(chunks_.begin() + static_cast<ptrdiff_t>(p.chunk) + 1, std::move(upper));
  }
}

void OrderedIndex::Replace(std::string_view key, Item* item) {
  Pos p = LowerBound(key);
  assert(!AtEnd(p) && CompareKeys(At(p)->key(), key) == 0);
  chunks_[p.chunk][p.idx] = item;
}

void OrderedIndex::Erase(std::string_view key) {
  Pos p = LowerBound(key);
  assert(!AtEnd(p) && CompareKeys(At(p)->key(), key) == 0);
  auto& c = chunks_[p.chunk];
  c.erase(c.begin() + static_cast<ptrdiff_t>(p.idx));
  if (c.empty()) chunks_.erase(chunks_.begin() + static_cast<ptrdiff_t>(p.chunk));
}

size_t OrderedIndex::MemoryBytes() const {
  size_t n = chunks_.capacity() * sizeof(std::vector<Item*>);
  for (const auto& c : chunks_) n += c.capacity() * sizeof(Item*);
  return n;
}

// ------------------------------------------------------------------ Shard

Shard::~Shard() {
  for (uint64_t s : slots_) {
    if (s != 0) FreeItem(ItemOf(s));
  }
}

size_t Shard::Probe(std::string_view key, uint64_t hash) const {
  size_t mask = slots_.size() - 1;
  uint64_t tag = Tag(hash);
  for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
    uint64_t s = slots_[i];
    if (s == 0) return i;
    if ((s & ~kPtrMask) == tag) {
      const Item* item = ItemOf(s);
      if (item->klen == key.size() && std::memcmp(item->key_data(), key.data(), key.size()) == 0) return i;
    }
  }
}

const Item* Shard::Find(std::string_view key, uint64_t hash) const {
  if (size_ == 0) return nullptr;
  uint64_t s = slots_[Probe(key, hash)];
  return s == 0 ? nullptr : ItemOf(s);
}

void Shard::Grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.empty() ? 16 : old.size() * 2, 0);
  size_t mask = slots_.size() - 1;
  for (uint64_t s : old) {
    if (s == 0) continue;
    Item* item = ItemOf(s);
    uint64_t hash = HashKey(item->key());
    size_t i = static_cast<size_t>(hash) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
  sweep_pos_ = 0;
}

void Shard::Put(std::string_view key, uint64_t hash, std::string_view value, uint64_t version,
                uint64_t expires_at) {
  if ((size_ + 1) * 5 > slots_.size() * 4) Grow();
  size_t i = Probe(key, hash);
  uint64_t s = slots_[i];
  if (s == 0) {
    Item* item = NewItem(key, value, version, expires_at);
    slots_[i] = MakeSlot(item, hash);
    index_.Insert(item);
    size_++;
    return;
  }
  Item* old = ItemOf(s);
  if (malloc_usable_size(old) >= sizeof(Item) + key.size() + value.size()) {
    // In place: readers of this shard are excluded by the exclusive lock.
    old->version = version;
    old->expires_at = expires_at;
    old->vlen = static_cast<uint32_t>(value.size());
    if (!value.empty()) std::memcpy(old->mutable_value_data(), value.data(), value.size());
    return;
  }
  Item* item = NewItem(key, value, version, expires_at);
  slots_[i] = MakeSlot(item, hash);
  index_.Replace(key, item);
  FreeItem(old);
}

void Shard::RemoveSlot(size_t i) {
  size_t mask = slots_.size() - 1;
  slots_[i] = 0;
  size_--;
  // Backward-shift deletion: pull later members of the probe run into the hole.
  for (size_t j = (i + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
    size_t home = static_cast<size_t>(HashKey(ItemOf(slots_[j])->key())) & mask;
    // Move j into the hole i if its home is not cyclically in (i, j].
    bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      slots_[j] = 0;
      i = j;
    }
  }
}

bool Shard::Erase(std::string_view key, uint64_t hash) {
  if (size_ == 0) return false;
  size_t i = Probe(key, hash);
  uint64_t s = slots_[i];
  if (s == 0) return false;
  Item* item = ItemOf(s);
  index_.Erase(key);
  RemoveSlot(i);
  FreeItem(item);
  return true;
}

size_t Shard::Sweep(int64_t now, size_t budget, size_t* examined, bool* wrapped) {
  size_t removed = 0;
  *examined = 0;
  *wrapped = false;
  if (slots_.empty()) {
    *wrapped = true;
    return 0;
  }
  size_t steps = 0;
  while (*examined < budget) {
    if (sweep_pos_ >= slots_.size()) {
      sweep_pos_ = 0;
      *wrapped = true;
      break;
    }
    uint64_t s = slots_[sweep_pos_];
    if (s == 0) {
      sweep_pos_++;
      // Empty slots cost little; still bound the walk.
      if (++steps > budget * 8 + 64) break;
      continue;
    }
    ++*examined;
    Item* item = ItemOf(s);
    if (!item->Live(now)) {
      index_.Erase(item->key());
      RemoveSlot(sweep_pos_);
      FreeItem(item);
      removed++;
      continue;  // another item may have shifted into this slot
    }
    sweep_pos_++;
  }
  return removed;
}

size_t Shard::MemoryBytes() const { return slots_.capacity() * sizeof(uint64_t) + index_.MemoryBytes(); }

}  // namespace kvstore

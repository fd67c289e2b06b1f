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

namespace {

size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  size_t i = 0;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

}  // namespace

uint32_t OrderedIndex::Fingerprint(std::string_view key, size_t cp) {
  // Big-endian, zero-padded: for keys sharing the first cp bytes, a < b implies fp(a) <= fp(b).
  uint32_t f = 0;
  for (size_t i = 0; i < 4; i++) {
    size_t at = cp + i;
    f = (f << 8) | (at < key.size() ? static_cast<uint8_t>(key[at]) : 0u);
  }
  return f;
}

void OrderedIndex::Refingerprint(Chunk* c) {
  c->cp = CommonPrefix(c->items.front()->key(), c->items.back()->key());
  c->fps.resize(c->items.size());
  for (size_t i = 0; i < c->items.size(); i++) c->fps[i] = Fingerprint(c->items[i]->key(), c->cp);
}

size_t OrderedIndex::ChunkLowerBound(const Chunk& c, std::string_view key) {
  // The last key is in cache: the chunk search just compared key with it.
  std::string_view last = c.items.back()->key();
  size_t n = c.cp < key.size() ? c.cp : key.size();
  int pc = n == 0 ? 0 : std::memcmp(key.data(), last.data(), n);
  if (pc < 0 || (pc == 0 && key.size() < c.cp)) return 0;  // key sorts before the shared prefix
  if (pc > 0) return c.items.size();                     // not reached: key <= the last key
  uint32_t f = Fingerprint(key, c.cp);
  auto fb = c.fps.begin();
  auto lo = std::lower_bound(fb, c.fps.end(), f);
  auto hi = std::upper_bound(lo, c.fps.end(), f);
  size_t l = static_cast<size_t>(lo - fb);
  size_t h = static_cast<size_t>(hi - fb);
  if (l == h) return l;
  auto ib = c.items.begin();
  return static_cast<size_t>(std::lower_bound(ib + static_cast<ptrdiff_t>(l), ib + static_cast<ptrdiff_t>(h), key, ItemLess) - ib);
}

OrderedIndex::Pos OrderedIndex::LowerBound(std::string_view key) const {
  // First chunk whose last key is >= key.
  size_t lo = 0, hi = chunks_.size();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (CompareKeys(chunks_[mid].items.back()->key(), key) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == chunks_.size()) return End();
  return Pos{lo, ChunkLowerBound(chunks_[lo], key)};
}

void OrderedIndex::Next(Pos* p) const {
  if (++p->idx >= chunks_[p->chunk].items.size()) {
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
  p->idx = chunks_[p->chunk].items.size() - 1;
  return true;
}

void OrderedIndex::Insert(Item* item) {
  std::string_view key = item->key();
  if (chunks_.empty()) {
    chunks_.emplace_back();
    Chunk& c = chunks_.back();
    c.items.reserve(16);
    c.items.push_back(item);
    Refingerprint(&c);
    return;
  }
  Pos p = LowerBound(key);
  if (AtEnd(p)) p = Pos{chunks_.size() - 1, chunks_.back().items.size()};
  Chunk& c = chunks_[p.chunk];
  const auto at = static_cast<ptrdiff_t>(p.idx);
  c.items.insert(c.items.begin() + at, item);
  bool edge = p.idx == 0 || p.idx + 1 == c.items.size();
  if (edge && CommonPrefix(c.items.front()->key(), c.items.back()->key()) < c.cp) {
    // A new first or last key that shares less: recompute. Only a shrink does (a longer
    // shared prefix is only picked up at a split), so between two splits a chunk is
    // refingerprinted at most cp times however its edges are inserted and erased.
    Refingerprint(&c);
  } else {
    c.fps.insert(c.fps.begin() + at, Fingerprint(key, c.cp));
  }
  if (c.items.size() > kMaxChunk) {
    const auto half = static_cast<ptrdiff_t>(c.items.size() / 2);
    Chunk upper;
    upper.items.assign(c.items.begin() + half, c.items.end());
    c.items.resize(static_cast<size_t>(half));
    c.items.shrink_to_fit();
    // Each half's keys may share a longer prefix than the whole did.
    Refingerprint(&c);
    c.fps.shrink_to_fit();
    Refingerprint(&upper);
    chunks_.insert(chunks_.begin() + static_cast<ptrdiff_t>(p.chunk) + 1, std::move(upper));
  }
}

void OrderedIndex::Replace(std::string_view key, Item* item) {
  // Same key, so the same fingerprint.
  Pos p = LowerBound(key);
  assert(!AtEnd(p) && CompareKeys(At(p)->key(), key) == 0);
  chunks_[p.chunk].items[p.idx] = item;
}

void OrderedIndex::Erase(std::string_view key) {
  // The shared prefix of the remaining keys can only be as long or longer: cp stays valid.
  Pos p = LowerBound(key);
  assert(!AtEnd(p) && CompareKeys(At(p)->key(), key) == 0);
  Chunk& c = chunks_[p.chunk];
  c.items.erase(c.items.begin() + static_cast<ptrdiff_t>(p.idx));
  c.fps.erase(c.fps.begin() + static_cast<ptrdiff_t>(p.idx));
  if (c.items.empty()) chunks_.erase(chunks_.begin() + static_cast<ptrdiff_t>(p.chunk));
}

size_t OrderedIndex::MemoryBytes() const {
  size_t n = chunks_.capacity() * sizeof(Chunk);
  for (const auto& c : chunks_) n += c.items.capacity() * sizeof(Item*) + c.fps.capacity() * sizeof(uint32_t);
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

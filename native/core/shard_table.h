// The in-memory table: one Shard per hash range, each an open-addressing hash table of
// Items plus an ordered index of the same Items for range scans. A Shard does no
// locking itself; its `mu` is taken by the engine (shared for reads, exclusive for
// writes), and every method says which it REQUIRES.
#ifndef KVSTORE_CORE_SHARD_TABLE_H_
#define KVSTORE_CORE_SHARD_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <shared_mutex>
#include <string_view>
#include <vector>

namespace kvstore {

// One entry, allocated as a single block: this header, then key bytes, then value bytes.
// Owned by its Shard (freed by Erase or the Shard's destructor).
struct Item {
  uint64_t version;     // LSN of the record that last wrote it
  uint64_t expires_at;  // ms since the epoch, 0 = never
  uint32_t klen;
  uint32_t vlen;

  const char* key_data() const { return reinterpret_cast<const char*>(this + 1); }
  const char* value_data() const { return key_data() + klen; }
  char* mutable_value_data() { return reinterpret_cast<char*>(this + 1) + klen; }
  std::string_view key() const { return std::string_view(key_data(), klen); }
  std::string_view value() const { return std::string_view(value_data(), vlen); }
  bool Live(int64_t now) const { return expires_at == 0 || static_cast<int64_t>(expires_at) > now; }
};
static_assert(sizeof(Item) == 8 + 8 + 4 + 4, "Item header must stay 24 bytes");

// Unsigned byte order, a shorter prefix first (memcmp semantics).
inline int CompareKeys(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

uint64_t HashKey(std::string_view key);

// Keys of one shard in byte order: a list of sorted chunks (a flat B+-tree of height 2),
// about 15 bytes per entry. Beside each Item pointer a chunk keeps a 4-byte fingerprint of
// its key: the bytes just after the prefix every key of the chunk shares (`cp`). Searching a
// chunk compares fingerprints, which sit in one contiguous array, and dereferences an Item
// only among equal fingerprints; an Item dereference is a cache miss once the table is
// larger than the cache, and it used to take about nine per insert (issue 17: LowerBound
// was 14% of the CPU of `none` puts of new keys).
class OrderedIndex {
 public:
  struct Pos {
    size_t chunk;
    size_t idx;
  };

  bool empty() const { return chunks_.empty(); }
  // First position whose key is >= key (End() if none).
  Pos LowerBound(std::string_view key) const;
  Pos Begin() const { return Pos{0, 0}; }
  Pos End() const { return Pos{chunks_.size(), 0}; }
  bool AtEnd(Pos p) const { return p.chunk >= chunks_.size(); }
  Item* At(Pos p) const { return chunks_[p.chunk].items[p.idx]; }
  void Next(Pos* p) const;
  // Steps back; returns false (and leaves *p) when p is the first position.
  bool Prev(Pos* p) const;

  void Insert(Item* item);                        // REQUIRES: key not present
  void Replace(std::string_view key, Item* item);  // REQUIRES: key present
  void Erase(std::string_view key);               // REQUIRES: key present
  size_t MemoryBytes() const;

 private:
  static constexpr size_t kMaxChunk = 512;
  struct Chunk {
    std::vector<Item*> items;
    // fps[i] = Fingerprint(items[i]->key(), cp). Key order implies fingerprint order
    // (not strictly: equal fingerprints are told apart by the keys).
    std::vector<uint32_t> fps;
    // Every key of the chunk starts with the same cp bytes (at most the common prefix of
    // its first and last key; smaller is valid, only less selective).
    size_t cp = 0;
  };
  static uint32_t Fingerprint(std::string_view key, size_t cp);
  // Sets cp to the common prefix of the first and last key and recomputes every fingerprint.
  static void Refingerprint(Chunk* c);
  // First index of c whose key is >= key. REQUIRES: key <= c's last key.
  static size_t ChunkLowerBound(const Chunk& c, std::string_view key);
  std::vector<Chunk> chunks_;
};

class Shard {
 public:
  Shard() = default;
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // REQUIRES: mu held (shared or exclusive). The result stays valid while it is held.
  const Item* Find(std::string_view key, uint64_t hash) const;
  // Inserts or overwrites. REQUIRES: mu held exclusively.
  void Put(std::string_view key, uint64_t hash, std::string_view value, uint64_t version, uint64_t expires_at);
  // Removes key; false if absent. REQUIRES: mu held exclusively.
  bool Erase(std::string_view key, uint64_t hash);
  // Examines up to `budget` occupied slots from the shard's sweep cursor and removes the
  // items expired at `now`. *examined gets the number examined; *wrapped is set when the
  // cursor passed the end of the table. Returns how many were removed.
  // REQUIRES: mu held exclusively.
  size_t Sweep(int64_t now, size_t budget, size_t* examined, bool* wrapped);

  size_t size() const { return size_; }
  const OrderedIndex& index() const { return index_; }
  size_t MemoryBytes() const;

  mutable std::shared_mutex mu;

 private:
  static constexpr uint64_t kPtrMask = (uint64_t{1} << 48) - 1;
  static uint64_t Tag(uint64_t hash) { return hash & ~kPtrMask; }
  static Item* ItemOf(uint64_t slot) { return reinterpret_cast<Item*>(slot & kPtrMask); }
  static uint64_t MakeSlot(Item* item, uint64_t hash) {
    return Tag(hash) | reinterpret_cast<uint64_t>(item);
  }

  // Index of key's slot, or of the empty slot where it would go. REQUIRES: capacity > 0.
  size_t Probe(std::string_view key, uint64_t hash) const;
  void Grow();
  void RemoveSlot(size_t i);

  // Slot = (top 16 bits of the hash) | Item pointer (x86_64 user pointers fit in 48
  // bits); 0 = empty. Linear probing, backward-shift deletion, load <= 0.8.
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
  size_t sweep_pos_ = 0;
  OrderedIndex index_;
};

}  // namespace kvstore

#endif  // KVSTORE_CORE_SHARD_TABLE_H_

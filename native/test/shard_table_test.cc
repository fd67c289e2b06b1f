// One Shard against a std::map model: hash table, ordered index, sweep.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "shard_table.h"

namespace kvstore {
namespace {

struct Model {
  std::string value;
  uint64_t version;
  uint64_t expires_at;
};

void ExpectSame(const Shard& shard, const std::map<std::string, Model>& model) {
  ASSERT_EQ(shard.size(), model.size());
  const OrderedIndex& ix = shard.index();
  auto it = model.begin();
  for (OrderedIndex::Pos p = ix.Begin(); !ix.AtEnd(p); ix.Next(&p), ++it) {
    ASSERT_NE(it, model.end());
    const Item* item = ix.At(p);
    ASSERT_EQ(item->key(), it->first);
    EXPECT_EQ(item->value(), it->second.value);
    EXPECT_EQ(item->version, it->second.version);
    EXPECT_EQ(item->expires_at, it->second.expires_at);
    EXPECT_EQ(shard.Find(it->first, HashKey(it->first)), item);
  }
  EXPECT_EQ(it, model.end());
}

TEST(Shard, RandomPutsAndErasesMatchAMap) {
  Shard shard;
  std::map<std::string, Model> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; i++) {
    std::string k = "k" + std::to_string(rng() % 3000);
    uint64_t h = HashKey(k);
    if (rng() % 4 == 0) {
      EXPECT_EQ(shard.Erase(k, h), model.erase(k) == 1);
    } else {
      // Values grow and shrink so both the in-place and the reallocating update run.
      std::string v(rng() % 100, static_cast<char>('a' + i % 26));
      shard.Put(k, h, v, static_cast<uint64_t>(i + 1), 0);
      model[k] = Model{v, static_cast<uint64_t>(i + 1), 0};
    }
    if (i % 2500 == 0) ExpectSame(shard, model);
  }
  ExpectSame(shard, model);
  for (const auto& [k, m] : model) EXPECT_TRUE(shard.Erase(k, HashKey(k)));
  EXPECT_EQ(shard.size(), 0u);
  EXPECT_TRUE(shard.index().empty());
}

TEST(Shard, LowerBoundPrevAndNextWalkTheKeysInByteOrder) {
  Shard shard;
  // Bytes above 0x7f sort after ASCII (unsigned order), a prefix sorts first.
  const std::vector<std::string> keys = {"a", "ab", "b", std::string("\x80", 1), std::string("\xff\x01", 2)};
  for (size_t i = keys.size(); i-- > 0;) shard.Put(keys[i], HashKey(keys[i]), "v", i + 1, 0);
  const OrderedIndex& ix = shard.index();
  OrderedIndex::Pos p = ix.LowerBound("aa");
  ASSERT_FALSE(ix.AtEnd(p));
  EXPECT_EQ(ix.At(p)->key(), "ab");
  ASSERT_TRUE(ix.Prev(&p));
  EXPECT_EQ(ix.At(p)->key(), "a");
  EXPECT_FALSE(ix.Prev(&p));
  EXPECT_TRUE(ix.AtEnd(ix.LowerBound(std::string("\xff\x02", 2))));
  p = ix.End();
  ASSERT_TRUE(ix.Prev(&p));
  EXPECT_EQ(ix.At(p)->key(), keys.back());
}

TEST(Shard, SweepRemovesOnlyExpiredItemsAndKeepsTheIndexInStep) {
  Shard shard;
  std::map<std::string, Model> model;
  for (int i = 0; i < 5000; i++) {
    std::string k = "k" + std::to_string(i);
    uint64_t exp = i % 3 == 0 ? 100 : (i % 3 == 1 ? 0 : 1000);
    shard.Put(k, HashKey(k), "v", 1, exp);
    if (exp != 100) model[k] = Model{"v", 1, exp};
  }
  size_t removed = 0;
  for (int round = 0; round < 1000; round++) {
    size_t examined;
    bool wrapped;
    removed += shard.Sweep(500, 64, &examined, &wrapped);
    EXPECT_LE(examined, 64u);
    if (wrapped && round > 0 && shard.size() == model.size()) break;
  }
  EXPECT_EQ(removed, 1667u);
  ExpectSame(shard, model);
}

TEST(Shard, ManyKeysSplitIndexChunksAndStayOrdered) {
  Shard shard;
  std::map<std::string, Model> model;
  for (int i = 0; i < 3000; i++) {
    std::string k = std::to_string((i * 7919) % 3001);
    shard.Put(k, HashKey(k), k, 1, 0);
    model[k] = Model{k, 1, 0};
  }
  ExpectSame(shard, model);
}

// The index's chunks search by 4-byte fingerprints of the bytes after their keys' shared
// prefix: keys that share long prefixes, differ only past those 4 bytes, are prefixes of
// each other, end in zero bytes or hold bytes above 0x7f must still sort and be found in
// unsigned byte order, through inserts and erases at chunk edges and splits.
TEST(Shard, LowerBoundMatchesAMapForKeysThatDefeatFingerprints) {
  Shard shard;
  std::map<std::string, Model> model;
  std::mt19937_64 rng(17);
  const std::string alphabet("\x00\x01\x7f\x80\xff" "ab", 7);
  auto random_key = [&]() {
    std::string k;
    switch (rng() % 4) {
      case 0: k = "key:000000" + std::to_string(rng() % 5000); break;               // shared decimal prefix
      case 1: k = std::string(12, 'p') + std::string(rng() % 6, 'q') + "x" + std::to_string(rng() % 50); break;  // ties past 4 bytes
      case 2: k = std::string(1 + rng() % 3, 'a'); break;                             // prefixes of each other
      default:
        for (size_t n = 1 + rng() % 9; n > 0; n--) k.push_back(alphabet[rng() % alphabet.size()]);
    }
    return k;
  };
  for (int i = 0; i < 40000; i++) {
    std::string k = random_key();
    uint64_t h = HashKey(k);
    if (rng() % 3 == 0) {
      EXPECT_EQ(shard.Erase(k, h), model.erase(k) == 1);
    } else {
      shard.Put(k, h, "v", static_cast<uint64_t>(i + 1), 0);
      model[k] = Model{"v", static_cast<uint64_t>(i + 1), 0};
    }
    if (i % 97 == 0) {
      const OrderedIndex& ix = shard.index();
      for (int probe = 0; probe < 20; probe++) {
        std::string q = random_key();
        OrderedIndex::Pos p = ix.LowerBound(q);
        auto it = model.lower_bound(q);
        if (it == model.end()) {
          ASSERT_TRUE(ix.AtEnd(p)) << "probe " << q;
        } else {
          ASSERT_FALSE(ix.AtEnd(p)) << "probe " << q;
          ASSERT_EQ(ix.At(p)->key(), it->first) << "probe " << q;
        }
      }
    }
    if (i % 5000 == 0) ExpectSame(shard, model);
  }
  ExpectSame(shard, model);
  for (const auto& [k, m] : model) ASSERT_TRUE(shard.Erase(k, HashKey(k)));
  EXPECT_TRUE(shard.index().empty());
}

}  // namespace
}  // namespace kvstore

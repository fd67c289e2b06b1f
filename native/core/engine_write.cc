// The write path: each write checks its condition against the newest submitted state
// (pending_ included), takes the next LSN, frames its record into buf_ for the flusher and
// either stages its changes until they are durable (`always`) or applies them at once.
#include <climits>
#include <string>

#include "coding.h"
#include "engine.h"
#include "wal_format.h"

namespace kvstore {
namespace {


// Parses a decimal signed 64-bit integer: optional '-', 1..19 digits, no overflow.
bool ParseInt64(std::string_view text, int64_t* out) {
  size_t i = 0;
  bool neg = false;
  if (!text.empty() && text[0] == '-') {
    neg = true;
    i = 1;
  }
  size_t digits = text.size() - i;
  if (digits < 1 || digits > 19) return false;
  unsigned __int128 v = 0;
  for (; i < text.size(); i++) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (neg) {
    if (v > static_cast<unsigned __int128>(INT64_MAX) + 1) return false;
    *out = static_cast<int64_t>(-static_cast<__int128>(v));
  } else {
    if (v > static_cast<unsigned __int128>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(v);
  }
  return true;
}

}  // namespace

Status Engine::CheckWritable() const {
  if (closing_ || closed_) return Status::Closed("the store is closed");
  if (!failed_.ok()) return Status::IoError(failed_.message());
  if (role_.load() != Role::kPrimary) return Status::ReadOnly("this store is a standby: it takes writes only from its primary");
  if (next_lsn_ > kMaxLsn) {
    return Status::LsnExhausted("the next LSN " + std::to_string(next_lsn_) + " is past the last one a record may get (" +
                                std::to_string(kMaxLsn) + "): this store takes no more writes; copy its data to a new store");
  }
  return Status::Ok();
}

Engine::Current Engine::CurrentLocked(std::string_view key, uint64_t hash, int64_t now, std::string* value) {
  last_now_.store(now, std::memory_order_relaxed);
  Current cur;
  if (!pending_.empty()) {
    auto it = pending_.find(std::string(key));
    if (it != pending_.end()) {
      const StagedChange* c = it->second.change;
      if (c->is_put && (c->expires_at == 0 || static_cast<int64_t>(c->expires_at) > now)) {
        cur.live = true;
        cur.version = it->second.lsn;
        cur.expires_at = c->expires_at;
        if (value != nullptr) *value = c->value;
      }
      return cur;
    }
  }
  ReadHashed(key, hash, now, [&](const Item& item) {
    cur.live = true;
    cur.version = item.version;
    cur.expires_at = item.expires_at;
    if (value != nullptr) value->assign(item.value_data(), item.vlen);
  });
  return cur;
}

uint64_t Engine::BeginRecordLocked(size_t body_bytes, size_t* start) {
  uint64_t lsn = next_lsn_++;
  uint64_t rec = kRecordHeaderSize + body_bytes;
  if (virtual_segment_bytes_ > 0 &&
      (rotate_requested_ || virtual_segment_bytes_ + rec > options_.wal_segment_bytes)) {
    rotations_.emplace_back(buf_.size(), lsn);
    virtual_segment_bytes_ = 0;
  }
  rotate_requested_ = false;
  virtual_segment_bytes_ += rec;
  *start = BeginRecord(&buf_);
  return lsn;
}

void Engine::EndRecordLocked(size_t start, uint64_t lsn, uint8_t kind, std::vector<StagedChange>* staged,
                             const std::vector<Change>& changes) {
  FinishRecord(&buf_, start, lsn, kind);
  buf_records_++;
  if (options_.durability == Durability::kAlways) {
    staged_.push_back(StagedRecord{lsn, std::move(*staged), std::string()});
    for (const StagedChange& c : staged_.back().changes) pending_[c.key] = PendingRef{lsn, &c};
    if (flusher_idle_ && !options_.defer_flusher_wake) {
      flusher_idle_ = false;
      flusher_cv_.notify_one();
    }
  } else {
    ApplyChanges(changes, lsn);
    applied_lsn_.store(lsn, std::memory_order_release);
    if (buf_.size() >= kWakeBytes && flusher_idle_) {
      flusher_idle_ = false;
      flusher_cv_.notify_one();
    }
  }
}

Status Engine::Put(std::string_view key, std::string_view value, uint64_t expires_at, int64_t if_version,
                   int64_t now, uint64_t* lsn) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  uint64_t h = HashKey(key);
  if (if_version >= 0 || !pending_.empty()) {
    Current cur = CurrentLocked(key, h, now, nullptr);
    if (if_version >= 0 && cur.version != static_cast<uint64_t>(if_version)) {
      return Status::VersionMismatch("expected version " + std::to_string(if_version) + ", found " +
                                     std::to_string(cur.version));
    }
  } else {
    last_now_.store(now, std::memory_order_relaxed);
  }
  size_t start;
  *lsn = BeginRecordLocked(kPutFixedSize + key.size() + value.size(), &start);
  AppendPutBody(&buf_, key, value, expires_at);
  std::vector<StagedChange> staged;
  std::vector<Change> changes;
  if (options_.durability == Durability::kAlways) {
    staged.push_back(StagedChange{true, std::string(key), std::string(value), expires_at, h});
  } else {
    changes.push_back(Change{true, key, value, expires_at});
  }
  EndRecordLocked(start, *lsn, kKindPut, &staged, changes);
  return Status::Ok();
}

Status Engine::Delete(std::string_view key, int64_t if_version, int64_t now, uint64_t* lsn) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  uint64_t h = HashKey(key);
  Current cur = CurrentLocked(key, h, now, nullptr);
  if (if_version >= 0 && cur.version != static_cast<uint64_t>(if_version)) {
    return Status::VersionMismatch("expected version " + std::to_string(if_version) + ", found " +
                                   std::to_string(cur.version));
  }
  if (!cur.live) {
    *lsn = 0;
    return Status::Ok();
  }
  size_t start;
  *lsn = BeginRecordLocked(kDeleteFixedSize + key.size(), &start);
  AppendDeleteBody(&buf_, key);
  std::vector<StagedChange> staged;
  std::vector<Change> changes;
  if (options_.durability == Durability::kAlways) {
    staged.push_back(StagedChange{false, std::string(key), std::string(), 0, h});
  } else {
    changes.push_back(Change{false, key, std::string_view(), 0});
  }
  EndRecordLocked(start, *lsn, kKindDelete, &staged, changes);
  return Status::Ok();
}

Status Engine::Incr(std::string_view key, int64_t delta, int64_t now, uint64_t* lsn, int64_t* result) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  uint64_t h = HashKey(key);
  std::string text;
  Current cur = CurrentLocked(key, h, now, &text);
  int64_t n = 0;
  if (cur.live && !ParseInt64(text, &n)) return Status::NotANumber("the value is not a decimal integer");
  int64_t r;
  if (__builtin_add_overflow(n, delta, &r)) return Status::NotANumber("the result overflows 64 bits");
  std::string value = std::to_string(r);
  uint64_t expires_at = cur.live ? cur.expires_at : 0;
  size_t start;
  *lsn = BeginRecordLocked(kPutFixedSize + key.size() + value.size(), &start);
  AppendPutBody(&buf_, key, value, expires_at);
  std::vector<StagedChange> staged;
  std::vector<Change> changes;
  if (options_.durability == Durability::kAlways) {
    staged.push_back(StagedChange{true, std::string(key), value, expires_at, h});
  } else {
    changes.push_back(Change{true, key, value, expires_at});
  }
  EndRecordLocked(start, *lsn, kKindIncr, &staged, changes);
  *result = r;
  return Status::Ok();
}

Status Engine::Batch(std::string_view body, int64_t now, uint64_t* lsn) {
  std::vector<Change> changes;
  std::string why;
  if (!DecodeBody(kKindBatch, body, &changes, &why)) return Status::InvalidArgument("malformed batch: " + why);
  if (body.size() > kMaxRecordBody) return Status::InvalidArgument("batch body larger than 256 MiB");
  std::vector<StagedChange> staged;
  if (options_.durability == Durability::kAlways) {
    // Copied before taking the lock: the copies are the expensive part.
    staged.reserve(changes.size());
    for (const Change& c : changes) {
      staged.push_back(StagedChange{c.is_put, std::string(c.key), std::string(c.value), c.expires_at, HashKey(c.key)});
    }
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  last_now_.store(now, std::memory_order_relaxed);
  size_t start;
  *lsn = BeginRecordLocked(body.size(), &start);
  buf_.append(body);
  EndRecordLocked(start, *lsn, kKindBatch, &staged, changes);
  return Status::Ok();
}

Status Engine::BatchIf(std::string_view body, std::string_view checks, int64_t now, uint64_t* lsn) {
  struct Check {
    std::string_view key;
    uint64_t version;
  };
  std::vector<Check> parsed;
  if (checks.size() < 4) return Status::InvalidArgument("malformed transaction checks: too short");
  uint32_t count = DecodeFixed32(checks.data());
  if (count > checks.size()) return Status::InvalidArgument("malformed transaction checks: count out of range");
  parsed.reserve(count);
  size_t at = 4;
  for (uint32_t i = 0; i < count; i++) {
    if (checks.size() - at < 4) return Status::InvalidArgument("malformed transaction checks: truncated");
    uint32_t klen = DecodeFixed32(checks.data() + at);
    at += 4;
    if (klen < 1 || klen > kMaxKeyBytes || checks.size() - at < static_cast<size_t>(klen) + 8) {
      return Status::InvalidArgument("malformed transaction checks: key length out of range");
    }
    parsed.push_back(Check{checks.substr(at, klen), DecodeFixed64(checks.data() + at + klen)});
    at += klen + 8;
  }
  if (at != checks.size()) return Status::InvalidArgument("malformed transaction checks: trailing bytes");
  std::vector<Change> changes;
  std::vector<StagedChange> staged;
  if (!body.empty()) {
    std::string why;
    if (!DecodeBody(kKindBatch, body, &changes, &why)) return Status::InvalidArgument("malformed batch: " + why);
    if (body.size() > kMaxRecordBody) return Status::InvalidArgument("batch body larger than 256 MiB");
    if (options_.durability == Durability::kAlways) {
      staged.reserve(changes.size());
      for (const Change& c : changes) {
        staged.push_back(StagedChange{c.is_put, std::string(c.key), std::string(c.value), c.expires_at, HashKey(c.key)});
      }
    }
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = body.empty() ? (closing_ || closed_ ? Status::Closed("the store is closed") : Status::Ok()) : CheckWritable();
  if (!s.ok()) return s;
  for (const Check& c : parsed) {
    Current cur = CurrentLocked(c.key, HashKey(c.key), now, nullptr);
    if (cur.version != c.version) {
      return Status::VersionMismatch("a key the transaction read changed: expected version " + std::to_string(c.version) +
                                     ", found " + std::to_string(cur.version));
    }
  }
  last_now_.store(now, std::memory_order_relaxed);
  if (body.empty()) {
    *lsn = 0;
    return Status::Ok();
  }
  size_t start;
  *lsn = BeginRecordLocked(body.size(), &start);
  buf_.append(body);
  EndRecordLocked(start, *lsn, kKindBatch, &staged, changes);
  return Status::Ok();
}

Status Engine::WriteMarker(uint8_t kind, std::string_view body, uint64_t* lsn) {
  if (kind < kKindFirstSkippable) return Status::InvalidArgument("a marker record needs an optional kind (128..255)");
  if (body.size() > kMaxRecordBody) return Status::InvalidArgument("marker body larger than 256 MiB");
  std::vector<StagedChange> staged;
  std::lock_guard<std::mutex> lock(write_mu_);
  Status s = CheckWritable();
  if (!s.ok()) return s;
  size_t start;
  *lsn = BeginRecordLocked(body.size(), &start);
  buf_.append(body);
  EndRecordLocked(start, *lsn, kind, &staged, {});
  return Status::Ok();
}

}  // namespace kvstore

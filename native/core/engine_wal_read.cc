// Reading the WAL back from any LSN while the flusher appends to it: what a primary
// streams to its standbys (docs/replication.md). Records come from the segment files
// themselves, bounded by the flushed LSN, so only fdatasynced, whole records are ever
// returned. A small cache of where recent reads ended lets a reader that follows the log
// continue without scanning its segment from the start.
#include <fcntl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "coding.h"
#include "engine.h"
#include "wal_format.h"

namespace kvstore {
namespace {

// Bytes a segment reader fetches per pread (a record larger than this is read whole).
constexpr size_t kReadBlock = 256u << 10;

// Sequential reads of one segment file through a block buffer. Not thread-safe; one per
// ReadWal call.
class SegmentReader {
 public:
  Status Open(const std::string& path) {
    path_ = path;
    return OpenFile(path, O_RDONLY, 0, &fd_);
  }

  // The record starting at `offset`: *out views it (header included) until the next call;
  // *eof when `offset` is the end of the file. A record cut short by the end of the file
  // or failing its CRC is Corruption: callers only read records the flusher synced.
  Status At(uint64_t offset, std::string_view* out, bool* eof) {
    *eof = false;
    Status s = Fill(offset, kRecordHeaderSize);
    if (!s.ok()) return s;
    std::string_view have = Have(offset);
    if (have.empty()) {
      *eof = true;
      return Status::Ok();
    }
    if (have.size() < kRecordHeaderSize) return Bad(offset, "record header cut short");
    uint64_t size = kRecordHeaderSize + DecodeFixed32(have.data() + 4);
    if (size > kRecordHeaderSize + kMaxRecordBody) return Bad(offset, "record length out of range");
    s = Fill(offset, static_cast<size_t>(size));
    if (!s.ok()) return s;
    have = Have(offset);
    RecordView r;
    ReadResult rr = ReadRecord(have, 0, &r);
    if (rr != ReadResult::kOk) return Bad(offset, std::string("bad record (") + ReadResultName(rr) + ")");
    *out = have.substr(0, r.next);
    return Status::Ok();
  }

 private:
  // The buffered bytes from `offset` on (empty if offset is outside the buffer).
  std::string_view Have(uint64_t offset) const {
    if (offset < buf_offset_ || offset > buf_offset_ + buf_len_) return std::string_view();
    return std::string_view(buf_.data() + (offset - buf_offset_), buf_len_ - (offset - buf_offset_));
  }

  // Makes the buffer hold [offset, offset + n) or whatever of it the file has.
  Status Fill(uint64_t offset, size_t n) {
    if (offset >= buf_offset_ && offset + n <= buf_offset_ + buf_len_) return Status::Ok();
    size_t want = std::max(n, kReadBlock);
    if (buf_.size() < want) buf_.resize(want);
    buf_offset_ = offset;
    buf_len_ = 0;
    return PreadUpTo(fd_.get(), buf_.data(), want, offset, path_, &buf_len_);
  }

  Status Bad(uint64_t offset, const std::string& why) const {
    return Status::Corruption("WAL segment " + path_ + " at offset " + std::to_string(offset) + ": " + why);
  }

  UniqueFd fd_;
  std::string path_;
  std::string buf_;
  uint64_t buf_offset_ = 0;
  size_t buf_len_ = 0;
};

}  // namespace

Status Engine::ReadWal(uint64_t from_lsn, size_t max_bytes, WalChunk* out) const {
  out->records.clear();
  out->first_lsn = from_lsn;
  out->last_lsn = from_lsn - 1;
  if (from_lsn == 0) return Status::InvalidArgument("fromLsn must be at least 1");
  if (closed_) return Status::Closed("the store is closed");
  // Flushed first, then the segment list: the flusher lists a segment before it writes
  // to it, so every record <= flushed is in a listed segment.
  const uint64_t flushed = synced_lsn_.load(std::memory_order_acquire);
  const uint64_t next = NextLsn();
  if (from_lsn > next) {
    return Status::LsnMismatch("LSN " + std::to_string(from_lsn) + " is past the end of this WAL (next LSN " +
                               std::to_string(next) + ")");
  }
  if (from_lsn > flushed) return Status::Ok();  // nothing flushed there yet
  std::vector<uint64_t> segs;
  {
    std::lock_guard<std::mutex> lock(seg_mu_);
    segs = segments_;
  }
  if (segs.empty() || from_lsn < segs.front()) {
    return Status::WalCompacted("LSN " + std::to_string(from_lsn) + " was dropped by a checkpoint (oldest kept: " +
                                std::to_string(segs.empty() ? next : segs.front()) + "); start from a base backup");
  }
  size_t i = static_cast<size_t>(std::upper_bound(segs.begin(), segs.end(), from_lsn) - segs.begin()) - 1;
  uint64_t lsn = segs[i];
  uint64_t offset = 0;
  uint64_t cached_segment;
  uint64_t cached_offset;
  if (FindWalPosition(from_lsn, &cached_segment, &cached_offset) && cached_segment == segs[i]) {
    lsn = from_lsn;
    offset = cached_offset;
  }
  bool full = false;
  for (;;) {
    SegmentReader reader;
    std::string path = JoinPath(wal_dir_, SegmentName(segs[i]));
    Status s = reader.Open(path);
    if (!s.ok()) {
      // A checkpoint may have dropped it since the list was copied.
      std::lock_guard<std::mutex> lock(seg_mu_);
      if (segments_.empty() || segments_.front() > segs[i]) {
        return Status::WalCompacted("LSN " + std::to_string(from_lsn) + " was dropped by a checkpoint while it was read");
      }
      return s;
    }
    while (lsn <= flushed) {
      std::string_view rec;
      bool eof;
      s = reader.At(offset, &rec, &eof);
      if (!s.ok()) return s;
      if (eof) break;
      uint64_t rec_lsn = DecodeFixed64(rec.data() + 8);
      if (rec_lsn != lsn) {
        return Status::Corruption("WAL segment " + path + " at offset " + std::to_string(offset) + ": LSN " +
                                  std::to_string(rec_lsn) + " where " + std::to_string(lsn) + " was expected");
      }
      if (lsn >= from_lsn) {
        if (!out->records.empty() && out->records.size() + rec.size() > max_bytes) {
          full = true;
          break;
        }
        out->records.append(rec);
        out->last_lsn = lsn;
      }
      offset += rec.size();
      lsn++;
    }
    if (full || lsn > flushed) break;
    // The segment ended before `flushed`: the next one must carry on at `lsn`.
    if (i + 1 >= segs.size() || segs[i + 1] != lsn) {
      return Status::Corruption("WAL segment " + path + " ends at LSN " + std::to_string(lsn - 1) +
                                " but no segment starts at " + std::to_string(lsn));
    }
    i++;
    offset = 0;
  }
  NoteWalPosition(lsn, segs[i], offset);
  return Status::Ok();
}

bool Engine::FindWalPosition(uint64_t lsn, uint64_t* segment, uint64_t* offset) const {
  std::lock_guard<std::mutex> lock(positions_mu_);
  for (WalPosition& p : positions_) {
    if (p.used != 0 && p.lsn == lsn) {
      p.used = ++positions_clock_;
      *segment = p.segment;
      *offset = p.offset;
      return true;
    }
  }
  return false;
}

void Engine::NoteWalPosition(uint64_t lsn, uint64_t segment, uint64_t offset) const {
  std::lock_guard<std::mutex> lock(positions_mu_);
  WalPosition* slot = &positions_[0];
  for (WalPosition& p : positions_) {
    if (p.used != 0 && p.lsn == lsn) {
      slot = &p;
      break;
    }
    if (p.used < slot->used) slot = &p;  // least recently used (or never)
  }
  *slot = WalPosition{lsn, segment, offset, ++positions_clock_};
}

}  // namespace kvstore

// Status: the result of every fallible core operation. The core never throws across its
// API; the binding turns a non-ok Status into a JS Error with a string `code`
// (native/binding/errors.cc).
#ifndef KVSTORE_CORE_STATUS_H_
#define KVSTORE_CORE_STATUS_H_

#include <string>
#include <utility>

namespace kvstore {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kCorruption,
    kIoError,
    kVersionMismatch,
    kNotANumber,
    kLocked,
    kClosed,
    kInvalidArgument,
    kReadOnly,        // a client write on a standby
    kWalCompacted,    // a WAL read from an LSN a checkpoint already dropped
    kLsnMismatch,     // replicated records that do not continue the log (gap, duplicate)
    kBadRecord,       // replicated bytes that are not valid WAL records
    kNotStandby,      // a replication-only call on a primary (or a promoting standby)
    kLsnExhausted,    // the next LSN would pass kMaxLsn: no more writes, reads go on
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status VersionMismatch(std::string msg) {
    return Status(Code::kVersionMismatch, std::move(msg));
  }
  static Status NotANumber(std::string msg) { return Status(Code::kNotANumber, std::move(msg)); }
  static Status Locked(std::string msg) { return Status(Code::kLocked, std::move(msg)); }
  static Status Closed(std::string msg) { return Status(Code::kClosed, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }

  static Status ReadOnly(std::string msg) { return Status(Code::kReadOnly, std::move(msg)); }
  static Status WalCompacted(std::string msg) { return Status(Code::kWalCompacted, std::move(msg)); }
  static Status LsnMismatch(std::string msg) { return Status(Code::kLsnMismatch, std::move(msg)); }
  static Status BadRecord(std::string msg) { return Status(Code::kBadRecord, std::move(msg)); }
  static Status NotStandby(std::string msg) { return Status(Code::kNotStandby, std::move(msg)); }
  static Status LsnExhausted(std::string msg) { return Status(Code::kLsnExhausted, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace kvstore

#endif  // KVSTORE_CORE_STATUS_H_

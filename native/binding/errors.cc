#include "errors.h"

namespace kvstore {

const char* StatusCodeName(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kCorruption: return "CORRUPT";
    case Status::Code::kIoError: return "IO_ERROR";
    case Status::Code::kVersionMismatch: return "VERSION_MISMATCH";
    case Status::Code::kNotANumber: return "NOT_A_NUMBER";
    case Status::Code::kLocked: return "LOCKED";
    case Status::Code::kClosed: return "CLOSED";
    case Status::Code::kInvalidArgument: return "INVALID_ARGUMENT";
    case Status::Code::kReadOnly: return "READ_ONLY";
    case Status::Code::kWalCompacted: return "WAL_COMPACTED";
    case Status::Code::kLsnMismatch: return "WAL_LSN_MISMATCH";
    case Status::Code::kBadRecord: return "WAL_BAD_RECORD";
    case Status::Code::kNotStandby: return "NOT_STANDBY";
    case Status::Code::kLsnExhausted: return "LSN_EXHAUSTED";
  }
  return "IO_ERROR";
}

Napi::Error StatusToError(Napi::Env env, const Status& s) {
  Napi::Error err = Napi::Error::New(env, s.message());
  err.Set("code", Napi::String::New(env, StatusCodeName(s)));
  return err;
}

void ThrowStatus(Napi::Env env, const Status& s) { throw StatusToError(env, s); }

}  // namespace kvstore

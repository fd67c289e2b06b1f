// Argument checks and conversions shared by the EngineHandle methods (engine_handle.cc,
// fast_path.cc): each bad argument becomes an INVALID_ARGUMENT error, never a crash.
#include "args.h"

#include <cmath>
#include <cstring>
#include <string>

#include "errors.h"

namespace kvstore {

std::string_view Bytes(const Napi::Value& v) {
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  return std::string_view(reinterpret_cast<const char*>(a.Data()), a.ByteLength());
}

void RequireBytes(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowStatus(env, Status::InvalidArgument(std::string(name) + " must be a Buffer"));
  }
}

int64_t Int64Arg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowStatus(env, Status::InvalidArgument(std::string(name) + " must be a number"));
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) ThrowStatus(env, Status::InvalidArgument(std::string(name) + " must be finite"));
  return static_cast<int64_t>(d);
}

int64_t BigIntArg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBigInt()) {
    ThrowStatus(env, Status::InvalidArgument(std::string(name) + " must be a bigint"));
  }
  bool lossless = true;
  int64_t v = info[i].As<Napi::BigInt>().Int64Value(&lossless);
  if (!lossless) ThrowStatus(env, Status::InvalidArgument(std::string(name) + " is out of the 64-bit range"));
  return v;
}

// Copies key's live value into dst[0, cap): its length, -1 if absent, or -(length + 2)
// if cap is too small (nothing copied). The contract of getInto, getS and getIntoT.
int64_t ReadInto(const Engine& e, std::string_view key, int64_t now, char* dst, size_t cap) {
  int64_t result = -1;
  e.Read(key, now, [&](const Item& item) {
    if (item.vlen > cap) {
      result = -(static_cast<int64_t>(item.vlen) + 2);
    } else {
      if (item.vlen > 0) std::memcpy(dst, item.value_data(), item.vlen);
      result = item.vlen;
    }
  });
  return result;
}

KeyBound BoundArg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return std::nullopt;
  RequireBytes(env, info, i, name);
  return Bytes(info[i]);
}

ScanArgs ScanArgsOf(Napi::Env env, const Napi::CallbackInfo& info) {
  KeyBound start = BoundArg(env, info, 0, "start");
  KeyBound end = BoundArg(env, info, 1, "end");
  int64_t limit = Int64Arg(env, info, 2, "limit");
  bool reverse = info.Length() > 3 && info[3].ToBoolean().Value();
  int64_t now = Int64Arg(env, info, 4, "now");
  return ScanArgs{start, end, limit > 0 ? static_cast<size_t>(limit) : 0, reverse, now};
}

// The fast paths' LSN: a Number (cheaper than a BigInt) while it is exact, a BigInt past
// 2^53 - 1, where a double would round it (a write's promise would then wait for an LSN
// that never comes). The caller's BigInt() takes either.
Napi::Value LsnValue(Napi::Env env, uint64_t lsn) {
  constexpr uint64_t kMaxExactDouble = (uint64_t{1} << 53) - 1;
  if (lsn <= kMaxExactDouble) return Napi::Number::New(env, static_cast<double>(lsn));
  return Napi::BigInt::New(env, lsn);
}

}  // namespace kvstore

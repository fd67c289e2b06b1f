// The fast paths of EngineHandle (ts/engine/native.ts): keys and values pass through a
// scratch buffer registered once (no Buffer per call), lengths and numbers as Numbers.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../core/coding.h"
#include "args.h"
#include "engine_handle.h"
#include "errors.h"

namespace kvstore {

namespace {

// A length argument that must fit the registered buffer; trusts the number type (the TS
// wrapper is the only caller) but never the value.
size_t LenArg(const Napi::CallbackInfo& info, size_t i, size_t limit, const char* name) {
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= static_cast<double>(limit))) {
    ThrowStatus(info.Env(), Status::InvalidArgument(std::string(name) + " is out of range"));
  }
  return static_cast<size_t>(d);
}

int64_t NumArg(const Napi::CallbackInfo& info, size_t i) {
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) ThrowStatus(info.Env(), Status::InvalidArgument("a numeric argument is not finite"));
  return static_cast<int64_t>(d);
}

}  // namespace

Napi::Value EngineHandle::SetScratch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireBytes(env, info, 0, "scratch");
  Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
  scratch_ref_ = Napi::Persistent(a);
  scratch_ = reinterpret_cast<char*>(a.Data());
  scratch_len_ = a.ByteLength();
  return env.Undefined();
}

Napi::Value EngineHandle::SetTarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireBytes(env, info, 0, "target");
  Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
  target_ref_ = Napi::Persistent(a);
  target_ = reinterpret_cast<char*>(a.Data());
  target_len_ = a.ByteLength();
  return env.Undefined();
}

Napi::Value EngineHandle::GetS(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  size_t klen = LenArg(info, 0, scratch_len_, "klen");
  int64_t now = NumArg(info, 1);
  // The value overwrites the key: the lookup is done before anything is copied.
  int64_t result = ReadInto(e, std::string_view(scratch_, klen), now, scratch_, scratch_len_);
  return Napi::Number::New(env, static_cast<double>(result));
}

Napi::Value EngineHandle::GetIntoT(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  size_t klen = LenArg(info, 0, scratch_len_, "klen");
  int64_t now = NumArg(info, 1);
  int64_t result = ReadInto(e, std::string_view(scratch_, klen), now, target_, target_len_);
  return Napi::Number::New(env, static_cast<double>(result));
}

Napi::Value EngineHandle::PutS(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  size_t klen = LenArg(info, 0, scratch_len_, "klen");
  size_t vlen = LenArg(info, 1, scratch_len_ - klen, "vlen");
  int64_t expires_at = NumArg(info, 2);
  int64_t if_version = NumArg(info, 3);
  int64_t now = NumArg(info, 4);
  if (expires_at < 0) ThrowStatus(env, Status::InvalidArgument("expiresAt must not be negative"));
  uint64_t lsn = 0;
  Status s = e.Put(std::string_view(scratch_, klen), std::string_view(scratch_ + klen, vlen),
                   static_cast<uint64_t>(expires_at), if_version, now, &lsn);
  Submitted(env, s, lsn);
  return LsnValue(env, lsn);
}

Napi::Value EngineHandle::ScanP(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  ScanArgs a = ScanArgsOf(env, info);
  std::string packed;
  e.Scan(a.start, a.end, a.limit, a.reverse, a.now, [&](const Item& item) {
    char lens[8];
    EncodeFixed32(lens, item.klen);
    EncodeFixed32(lens + 4, item.vlen);
    packed.append(lens, sizeof(lens));
    packed.append(item.key_data(), item.klen);
    packed.append(item.value_data(), item.vlen);
  });
  return Napi::Buffer<char>::Copy(env, packed.data(), packed.size());
}

Napi::Value EngineHandle::DelS(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  size_t klen = LenArg(info, 0, scratch_len_, "klen");
  int64_t if_version = NumArg(info, 1);
  int64_t now = NumArg(info, 2);
  uint64_t lsn = 0;
  Status s = e.Delete(std::string_view(scratch_, klen), if_version, now, &lsn);
  Submitted(env, s, lsn);
  return LsnValue(env, lsn);
}

}  // namespace kvstore

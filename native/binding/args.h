// Argument checks and conversions shared by the EngineHandle methods (args.cc).
#ifndef KVSTORE_BINDING_ARGS_H_
#define KVSTORE_BINDING_ARGS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../core/engine.h"

namespace kvstore {

// The bytes of a Uint8Array argument (checked by RequireBytes first).
std::string_view Bytes(const Napi::Value& v);
// Throws INVALID_ARGUMENT unless info[i] is a Uint8Array.
void RequireBytes(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name);
// A finite Number argument, truncated to int64.
int64_t Int64Arg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name);
// A BigInt argument within the int64 range.
int64_t BigIntArg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name);
// Copies key's live value into dst[0, cap): its length, -1 if absent, or -(length + 2) if
// cap is too small (nothing copied). The contract of getInto, getS and getIntoT.
int64_t ReadInto(const Engine& e, std::string_view key, int64_t now, char* dst, size_t cap);
// A scan bound: null/undefined = unbounded, else a Uint8Array.
KeyBound BoundArg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name);
// The arguments of scan and scanP: (start, end, limit, reverse, now). The bounds view the
// caller's Uint8Arrays, which live for the call.
struct ScanArgs {
  KeyBound start;
  KeyBound end;
  size_t limit;  // 0: no limit
  bool reverse;
  int64_t now;
};
ScanArgs ScanArgsOf(Napi::Env env, const Napi::CallbackInfo& info);
// An LSN for JS: a Number while exact, a BigInt past 2^53 - 1.
Napi::Value LsnValue(Napi::Env env, uint64_t lsn);

}  // namespace kvstore

#endif  // KVSTORE_BINDING_ARGS_H_

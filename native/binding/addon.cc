// Module entry points of kvstore_native.node: openEngine, crc32c, fdatasyncProbe.
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../core/crc32c.h"
#include "../core/engine_registry.h"
#include "../core/file_util.h"
#include "engine_handle.h"
#include "errors.h"

namespace kvstore {
namespace {

double NumberField(Napi::Env env, const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) ThrowStatus(env, Status::InvalidArgument(std::string("config.") + name + " must be a number"));
  return v.As<Napi::Number>().DoubleValue();
}

// Gives an acquired engine reference back (no final checkpoint) unless dismissed.
class EngineGuard {
 public:
  explicit EngineGuard(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}
  ~EngineGuard() {
    if (engine_) ReleaseEngine(engine_, false);
  }
  EngineGuard(const EngineGuard&) = delete;
  EngineGuard& operator=(const EngineGuard&) = delete;
  void Dismiss() { engine_.reset(); }

 private:
  std::shared_ptr<Engine> engine_;
};

class KvAddon : public Napi::Addon<KvAddon> {
 public:
  KvAddon(Napi::Env env, Napi::Object exports) {
    handle_class_ = Napi::Persistent(EngineHandle::DefineClass(env));
    DefineAddon(exports, {
                             InstanceMethod<&KvAddon::OpenEngine>("openEngine"),
                             InstanceMethod<&KvAddon::Crc32cJs>("crc32c"),
                             InstanceMethod<&KvAddon::FdatasyncProbe>("fdatasyncProbe"),
                         });
  }

 private:
  // openEngine(config: EngineConfig, onDurable, onLog): Engine
  Napi::Value OpenEngine(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsFunction() || !info[2].IsFunction()) {
      ThrowStatus(env, Status::InvalidArgument("openEngine(config, onDurable, onLog)"));
    }
    Napi::Object c = info[0].As<Napi::Object>();
    EngineOptions o;
    Napi::Value dir = c.Get("dir");
    if (!dir.IsString()) ThrowStatus(env, Status::InvalidArgument("config.dir must be a string"));
    o.dir = dir.As<Napi::String>().Utf8Value();
    o.shards = static_cast<uint32_t>(NumberField(env, c, "shards"));
    double durability = NumberField(env, c, "durability");
    if (durability != 0 && durability != 1 && durability != 2) {
      ThrowStatus(env, Status::InvalidArgument("config.durability must be 0, 1 or 2"));
    }
    o.durability = static_cast<Durability>(static_cast<int>(durability));
    o.interval_ms = static_cast<uint32_t>(NumberField(env, c, "intervalMs"));
    o.wal_segment_bytes = static_cast<uint64_t>(NumberField(env, c, "walSegmentBytes"));
    o.checkpoint_wal_bytes = static_cast<uint64_t>(NumberField(env, c, "checkpointWalBytes"));
    o.truncate_corrupt_tail = c.Get("truncateCorruptTail").ToBoolean().Value();
    Napi::Value role = c.Get("role");
    if (!role.IsUndefined()) {
      std::string r = role.IsString() ? role.As<Napi::String>().Utf8Value() : std::string();
      if (r != "primary" && r != "standby") {
        ThrowStatus(env, Status::InvalidArgument("config.role must be 'primary' or 'standby'"));
      }
      o.role = r == "standby" ? Role::kStandby : Role::kPrimary;
    }
    o.defer_flusher_wake = true;  // every handle's writes are followed by kick() (ts/engine/native.ts)

    std::vector<LogLine> logs;
    std::shared_ptr<Engine> engine;
    Status s = AcquireEngine(o, &logs, &engine);
    // Until Attach takes it, the reference is given back on any throw: onLog may throw,
    // and every call below throws once the env stops running JS (worker terminated).
    EngineGuard guard(s.ok() ? engine : nullptr);
    Napi::Function on_log = info[2].As<Napi::Function>();
    for (const LogLine& l : logs) {
      on_log.Call({Napi::String::New(env, l.level), Napi::String::New(env, l.message)});
    }
    if (!s.ok()) ThrowStatus(env, s);
    Napi::Object obj = handle_class_.New({});
    EngineHandle* handle = EngineHandle::Unwrap(obj);
    guard.Dismiss();
    handle->Attach(env, std::move(engine), info[1].As<Napi::Function>(), on_log);
    return obj;
  }

  // crc32c(buf, init = 0): number
  Napi::Value Crc32cJs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      ThrowStatus(env, Status::InvalidArgument("crc32c(buf: Uint8Array, init?: number)"));
    }
    Napi::TypedArray a = info[0].As<Napi::TypedArray>();
    const uint8_t* data = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
    uint32_t init = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
    return Napi::Number::New(env, Crc32cExtend(init, data, a.ByteLength()));
  }

  // fdatasyncProbe(path, count, bytes): seconds for `count` × (write(bytes) + fdatasync)
  // on a new file at path, removed afterwards. The raw-disk yardstick for benchmarks.
  Napi::Value FdatasyncProbe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
      ThrowStatus(env, Status::InvalidArgument("fdatasyncProbe(path: string, count: number, bytes: number)"));
    }
    std::string path = info[0].As<Napi::String>().Utf8Value();
    int64_t count = info[1].As<Napi::Number>().Int64Value();
    int64_t bytes = info[2].As<Napi::Number>().Int64Value();
    if (count < 0 || bytes < 0) ThrowStatus(env, Status::InvalidArgument("count and bytes must not be negative"));
    std::vector<char> buf(static_cast<size_t>(bytes), 'x');
    UniqueFd fd;
    Status s = OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0600, &fd);
    if (!s.ok()) ThrowStatus(env, s);
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < count && s.ok(); i++) {
      s = WriteAll(fd.get(), buf.data(), buf.size(), path);
      if (s.ok()) s = FdataSync(fd.get(), path);
    }
    auto t1 = std::chrono::steady_clock::now();
    Status c = fd.Close(path);
    Status r = RemoveFile(path);
    if (!s.ok()) ThrowStatus(env, s);
    if (!c.ok()) ThrowStatus(env, c);
    if (!r.ok()) ThrowStatus(env, r);
    return Napi::Number::New(env, std::chrono::duration<double>(t1 - t0).count());
  }

  Napi::FunctionReference handle_class_;
};

}  // namespace
}  // namespace kvstore

using kvstore::KvAddon;
NODE_API_ADDON(KvAddon)

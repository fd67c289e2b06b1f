// EngineHandle: the JS object openEngine() returns, one per call (per worker thread),
// implementing the Engine interface of ts/engine/types.ts over a shared core Engine.
// Lives on the JS thread of the env that created it; background threads reach it only
// through its thread-safe function (see HandleState in engine_handle.cc).
#ifndef KVSTORE_BINDING_ENGINE_HANDLE_H_
#define KVSTORE_BINDING_ENGINE_HANDLE_H_

#include <napi.h>

#include <memory>
#include <vector>

#include "../core/engine.h"

namespace kvstore {

struct HandleState;

class EngineHandle : public Napi::ObjectWrap<EngineHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  explicit EngineHandle(const Napi::CallbackInfo& info);
  ~EngineHandle() override;

  // Binds a freshly constructed handle to `engine` (one reference, already acquired).
  void Attach(Napi::Env env, std::shared_ptr<Engine> engine, Napi::Function on_durable, Napi::Function on_log);

 private:
  // ---- binding entry points (ts/engine/types.ts, method for method)
  Napi::Value Get(const Napi::CallbackInfo& info);
  Napi::Value GetInto(const Napi::CallbackInfo& info);
  Napi::Value GetEntry(const Napi::CallbackInfo& info);
  Napi::Value Put(const Napi::CallbackInfo& info);
  Napi::Value Del(const Napi::CallbackInfo& info);
  Napi::Value Incr(const Napi::CallbackInfo& info);
  Napi::Value Batch(const Napi::CallbackInfo& info);
  Napi::Value BatchIf(const Napi::CallbackInfo& info);
  Napi::Value Scan(const Napi::CallbackInfo& info);
  Napi::Value Count(const Napi::CallbackInfo& info);
  Napi::Value Checkpoint(const Napi::CallbackInfo& info);
  Napi::Value Sweep(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  // ---- fast paths (ts/engine/native.ts): arguments and results travel through a scratch
  // buffer registered once, so a call reads no typed-array info and allocates nothing.
  Napi::Value SetScratch(const Napi::CallbackInfo& info);  // (scratch: Buffer)
  Napi::Value SetTarget(const Napi::CallbackInfo& info);   // (target: Buffer) for getIntoT
  Napi::Value GetS(const Napi::CallbackInfo& info);        // (klen, now) → vlen | -1 | -(vlen+2)
  Napi::Value GetIntoT(const Napi::CallbackInfo& info);    // (klen, now) → same, value into target
  Napi::Value PutS(const Napi::CallbackInfo& info);        // (klen, vlen, expiresAt, ifVersion, now) → lsn
  Napi::Value DelS(const Napi::CallbackInfo& info);        // (klen, ifVersion, now) → lsn (0 = absent)
  Napi::Value Kick(const Napi::CallbackInfo& info);
  // (start, end, limit, reverse, now) → one Buffer of entries, each u32le klen, u32le
  // vlen, key, value: one allocation per page instead of two per entry.
  Napi::Value ScanP(const Napi::CallbackInfo& info);        // () wakes the flusher for what was submitted

  // ---- replication entry points (native/binding/replication.cc; ts/engine/types.ts)
  Napi::Value ReadWal(const Napi::CallbackInfo& info);           // (fromLsn, maxBytes) → Promise<[records, first, last]>
  Napi::Value AppendReplicated(const Napi::CallbackInfo& info);  // (records, firstLsn) → last LSN (durable later)
  Napi::Value Promote(const Napi::CallbackInfo& info);           // () → Promise<void>
  Napi::Value Positions(const Napi::CallbackInfo& info);         // () → [next, durable, flushed, applied]
  Napi::Value GetRole(const Napi::CallbackInfo& info);           // () → 'primary' | 'standby'
  Napi::Value WriteMarker(const Napi::CallbackInfo& info);       // (kind, body) → lsn (durable later)
  Napi::Value RetainWal(const Napi::CallbackInfo& info);         // (lsn) → token
  Napi::Value ReleaseWal(const Napi::CallbackInfo& info);        // (token) → undefined

  Engine& CheckOpen(Napi::Env env) const;
  // The engine, for work that outlives the call (async workers). Throws CLOSED.
  std::shared_ptr<Engine> SharedEngine(Napi::Env env) const;
  // The engine, or nullptr once close() was called (for calls that must not throw then).
  Engine* EngineIfOpen() const;
  void AwaitDurable(Napi::Env env, uint64_t lsn);
  void Submitted(Napi::Env env, const Status& s, uint64_t lsn);

  std::shared_ptr<HandleState> state_;
  // The registered buffers (kept alive by the references; their bytes never move).
  Napi::Reference<Napi::Uint8Array> scratch_ref_;
  char* scratch_ = nullptr;
  size_t scratch_len_ = 0;
  Napi::Reference<Napi::Uint8Array> target_ref_;
  char* target_ = nullptr;
  size_t target_len_ = 0;
};

}  // namespace kvstore

#endif  // KVSTORE_BINDING_ENGINE_HANDLE_H_

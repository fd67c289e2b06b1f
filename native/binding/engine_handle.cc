#include "engine_handle.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "../core/coding.h"
#include "../core/engine_registry.h"
#include "args.h"
#include "errors.h"
#include "js_call.h"

namespace kvstore {
namespace {

// A notification from a background thread to the handle's JS thread.
struct Message {
  enum class Kind { kDurable, kLog, kClosed };
  Kind kind;
  uint64_t lsn = 0;
  std::string code;
  std::string message;
  std::string level;
};

using StateRef = std::shared_ptr<HandleState>;

}  // namespace

// Everything a handle shares with background threads. Owned (shared_ptr) by the
// EngineHandle, by its thread-safe function (whose finalizer drops that reference) and by
// a CloseWorker in flight, so a message still queued when the JS object is collected
// finds it. Every owner lets go on the JS thread, so the destructor runs there.
//
// Teardown (issue 13, item 5): the env may stop running JS at any instant (a worker
// terminated, or exit). Then the cleanup hook (or the finalizer) gives the engine
// reference back and aborts the TSFN; a CloseWorker already running finishes the real
// close on its own (node waits for it) and its completion, like every TSFN call, goes
// through js_call.h, which drops what can no longer be delivered instead of throwing.
struct HandleState {
  std::shared_ptr<Engine> engine;
  Napi::FunctionReference on_durable;  // JS thread only
  Napi::FunctionReference on_log;      // JS thread only
  napi_env env = nullptr;
  int listener_id = 0;

  // JS thread only.
  bool closed = false;            // close() called: every method throws CLOSED
  bool close_checkpoint = true;   // close(false): the last release closes without a checkpoint
  bool hook_registered = false;   // env cleanup hook pending (its argument is `this`)
  bool tsfn_ref = false;          // the TSFN keeps the event loop alive
  uint64_t awaited_lsn = 0;       // highest LSN whose durability a promise waits for
  napi_deferred close_deferred = nullptr;  // settled exactly once, by Finish
  Napi::ObjectReference close_promise;

  // The engine reference is given back exactly once (close, env teardown or collection).
  std::atomic<bool> released{false};

  // Guards tsfn against use after release from background threads.
  std::mutex tsfn_mu;
  bool tsfn_alive = false;
  napi_threadsafe_function tsfn = nullptr;

  ~HandleState() { RemoveHook(); }

  // Any thread. Queues `msg` for the JS thread; false (msg dropped) once the TSFN is
  // released or closing.
  bool Post(std::unique_ptr<Message> msg) {
    std::lock_guard<std::mutex> lock(tsfn_mu);
    if (!tsfn_alive) return false;
    if (napi_call_threadsafe_function(tsfn, msg.get(), napi_tsfn_nonblocking) != napi_ok) return false;
    msg.release();
    return true;
  }

  // JS thread. Stops the TSFN; `abort` drops queued messages (CallJs frees them).
  void ReleaseTsfn(bool abort) {
    std::lock_guard<std::mutex> lock(tsfn_mu);
    if (!tsfn_alive) return;
    tsfn_alive = false;
    napi_release_threadsafe_function(tsfn, abort ? napi_tsfn_abort : napi_tsfn_release);
  }

  // JS thread. Whether the TSFN holds the event loop open.
  void SetRef(napi_env e, bool ref) {
    std::lock_guard<std::mutex> lock(tsfn_mu);
    if (!tsfn_alive || tsfn_ref == ref) return;
    tsfn_ref = ref;
    if (ref) {
      napi_ref_threadsafe_function(e, tsfn);
    } else {
      napi_unref_threadsafe_function(e, tsfn);
    }
  }

  // JS thread.
  void RemoveHook() {
    if (!hook_registered) return;
    hook_registered = false;
    napi_remove_env_cleanup_hook(env, &HandleState::CleanupHook, this);
  }

  // JS thread. Gives the engine reference back without a final checkpoint: env teardown
  // or the JS object collected without close(). Does not wait for a CloseWorker that
  // already holds the release (it finishes the close by itself).
  void Detach() {
    if (!released.exchange(true)) {
      engine->RemoveListener(listener_id);
      ReleaseEngine(engine, false);
    }
    ReleaseTsfn(true);
    RemoveHook();
  }

  // JS thread, once close()'s work is done (kClosed, or its worker when the TSFN was
  // already gone): reports a close error, resolves close(), lets the loop go. Never
  // throws; on a stopping env the deliveries are dropped.
  void Finish(napi_env e, const std::string& error) {
    if (!error.empty() && !on_log.IsEmpty()) {
      napi_value args[] = {JsString(e, "error"), JsString(e, error)};
      CallListener(e, on_log, 2, args);
    }
    if (close_deferred != nullptr) {
      Settle(e, close_deferred, true, JsUndefined(e));
      close_deferred = nullptr;
    }
    RemoveHook();
    SetRef(e, false);
    ReleaseTsfn(false);
  }

  // Runs on the env's JS thread when it is torn down (worker exit or terminate, process
  // exit). Registered after the TSFN, so it runs before node tears the TSFN down.
  static void CleanupHook(void* arg) {
    HandleState* st = static_cast<HandleState*>(arg);
    st->hook_registered = false;  // it is running: nothing to remove
    st->Detach();
  }
};

namespace {

// The TSFN's call_js_cb: a loop-started callback, so it never throws (js_call.h). env is
// null when node drains the queue of an aborted or finalized TSFN: only free msg then.
void CallJs(napi_env env, napi_value /*js_cb*/, void* context, void* data) noexcept {
  std::unique_ptr<Message> msg(static_cast<Message*>(data));
  if (env == nullptr || context == nullptr || msg == nullptr) return;
  HandleState& st = **static_cast<StateRef*>(context);
  JsScope scope(env);
  switch (msg->kind) {
    case Message::Kind::kDurable: {
      bool failed = !msg->code.empty();
      if (failed || msg->lsn >= st.awaited_lsn) st.SetRef(env, false);
      if (st.on_durable.IsEmpty()) return;
      napi_value args[] = {JsBigInt(env, msg->lsn), JsString(env, msg->code), JsString(env, msg->message)};
      CallListener(env, st.on_durable, failed ? 3 : 1, args);
      return;
    }
    case Message::Kind::kLog:
      if (!st.on_log.IsEmpty()) {
        napi_value args[] = {JsString(env, msg->level), JsString(env, msg->message)};
        CallListener(env, st.on_log, 2, args);
      }
      return;
    case Message::Kind::kClosed:
      st.Finish(env, msg->message);
      return;
  }
}

void FinalizeTsfn(napi_env /*env*/, void* data, void* /*hint*/) {
  std::unique_ptr<StateRef> owned(static_cast<StateRef*>(data));  // drops the TSFN's reference
}

// A promise created for a JS call (throws there, where throwing is allowed); the
// deferred is settled later with Settle().
Napi::Promise NewPromise(Napi::Env env, napi_deferred* deferred) {
  napi_value promise = nullptr;
  if (napi_create_promise(env, deferred, &promise) != napi_ok) throw Napi::Error::New(env);
  return Napi::Promise(env, promise);
}

// ------------------------------------------------------------------ async workers

// Async workers: Execute runs on the thread pool; the completion is a loop-started
// callback, so OnWorkComplete is overridden to settle through js_call.h and never throw
// (node-addon-api's would rethrow a refused Resolve as a C++ exception). A completion
// with napi_cancelled (env torn down before Execute ran) settles nothing.

class CheckpointWorker : public Napi::AsyncWorker {
 public:
  CheckpointWorker(Napi::Env env, std::shared_ptr<Engine> engine, int64_t now, napi_deferred deferred)
      : Napi::AsyncWorker(env, "kvstore.checkpoint"), engine_(std::move(engine)), now_(now), deferred_(deferred) {}

  void Execute() override { status_ = engine_->Checkpoint(now_, &redo_); }
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    if (status != napi_cancelled) {
      JsScope scope(env);
      if (status_.ok()) {
        Settle(env, deferred_, true, JsBigInt(env, redo_));
      } else {
        Settle(env, deferred_, false, JsStatusError(env, status_));
      }
    }
    Destroy();
  }

 private:
  std::shared_ptr<Engine> engine_;  // keeps the Engine object alive, not its registry reference
  int64_t now_;
  napi_deferred deferred_;
  Status status_;
  uint64_t redo_ = 0;
};

// Flushes this handle's writes, gives its engine reference back (the last one closes the
// engine) and then posts kClosed through the handle's TSFN, behind every durable
// notification, so close() resolves only after them. If the TSFN is gone by then, the
// completion finishes the close itself.
class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Env env, StateRef state) : Napi::AsyncWorker(env, "kvstore.close"), state_(std::move(state)) {}

  void Execute() override {
    auto msg = std::make_unique<Message>();
    msg->kind = Message::Kind::kClosed;
    if (!state_->released.exchange(true)) {
      state_->engine->WaitDurable();
      state_->engine->RemoveListener(state_->listener_id);
      Status s = ReleaseEngine(state_->engine, state_->close_checkpoint);
      if (!s.ok()) msg->message = "close: " + s.message();
    }
    error_ = msg->message;
    posted_ = state_->Post(std::move(msg));
  }
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    // Cancelled: Execute never ran and the cleanup hook releases the engine (Detach).
    if (status != napi_cancelled && !posted_) {
      JsScope scope(env);
      state_->Finish(env, error_);
    }
    Destroy();
  }

 private:
  StateRef state_;
  std::string error_;
  bool posted_ = false;
};

}  // namespace

// ==================================================================== EngineHandle

Napi::Function EngineHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<EngineHandle>::DefineClass(
      env, "NativeEngine",
      {
          InstanceMethod<&EngineHandle::Get>("get"),
          InstanceMethod<&EngineHandle::GetInto>("getInto"),
          InstanceMethod<&EngineHandle::GetEntry>("getEntry"),
          InstanceMethod<&EngineHandle::Put>("put"),
          InstanceMethod<&EngineHandle::Del>("del"),
          InstanceMethod<&EngineHandle::Incr>("incr"),
          InstanceMethod<&EngineHandle::Batch>("batch"),
          InstanceMethod<&EngineHandle::BatchIf>("batchIf"),
          InstanceMethod<&EngineHandle::Scan>("scan"),
          InstanceMethod<&EngineHandle::Count>("count"),
          InstanceMethod<&EngineHandle::Checkpoint>("checkpoint"),
          InstanceMethod<&EngineHandle::Sweep>("sweep"),
          InstanceMethod<&EngineHandle::Stats>("stats"),
          InstanceMethod<&EngineHandle::Close>("close"),
          InstanceMethod<&EngineHandle::SetScratch>("setScratch"),
          InstanceMethod<&EngineHandle::SetTarget>("setTarget"),
          InstanceMethod<&EngineHandle::GetS>("getS"),
          InstanceMethod<&EngineHandle::GetIntoT>("getIntoT"),
          InstanceMethod<&EngineHandle::PutS>("putS"),
          InstanceMethod<&EngineHandle::DelS>("delS"),
          InstanceMethod<&EngineHandle::Kick>("kick"),
          InstanceMethod<&EngineHandle::ScanP>("scanP"),
          InstanceMethod<&EngineHandle::ReadWal>("readWal"),
          InstanceMethod<&EngineHandle::AppendReplicated>("appendReplicated"),
          InstanceMethod<&EngineHandle::Promote>("promote"),
          InstanceMethod<&EngineHandle::Positions>("walPositions"),
          InstanceMethod<&EngineHandle::GetRole>("role"),
          InstanceMethod<&EngineHandle::WriteMarker>("writeMarker"),
          InstanceMethod<&EngineHandle::RetainWal>("retainWal"),
          InstanceMethod<&EngineHandle::ReleaseWal>("releaseWal"),
      });
}

EngineHandle::EngineHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineHandle>(info) {}

EngineHandle::~EngineHandle() {
  if (state_ && !state_->released.load()) state_->Detach();
}

void EngineHandle::Attach(Napi::Env env, std::shared_ptr<Engine> engine, Napi::Function on_durable,
                          Napi::Function on_log) {
  state_ = std::make_shared<HandleState>();  // from here the handle owns the engine reference
  HandleState& st = *state_;
  st.engine = std::move(engine);
  st.env = env;
  st.on_durable = Napi::Persistent(on_durable);
  st.on_log = Napi::Persistent(on_log);
  napi_value name = Napi::String::New(env, "kvstore.durable");
  auto ctx = std::make_unique<StateRef>(state_);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, ctx.get(), FinalizeTsfn,
                                                       ctx.get(), CallJs, &st.tsfn);
  if (status != napi_ok) throw Napi::Error::New(env);
  ctx.release();  // owned by the TSFN now; FinalizeTsfn frees it
  st.tsfn_alive = true;
  // Referenced only while a promise waits on it (AwaitDurable).
  napi_unref_threadsafe_function(env, st.tsfn);
  // Registered after the TSFN, so it runs before node tears the TSFN down.
  if (napi_add_env_cleanup_hook(env, &HandleState::CleanupHook, &st) != napi_ok) throw Napi::Error::New(env);
  st.hook_registered = true;
  // Invariant: the listener is removed (RemoveListener waits for a call in progress)
  // before the state can die: Detach and CloseWorker::Execute both remove it, and each
  // runs while holding a reference to the state.
  HandleState* raw = &st;
  st.listener_id = st.engine->AddListener([raw](const EngineEvent& ev) {
    auto msg = std::make_unique<Message>();
    if (ev.type == EngineEvent::Type::kDurable) {
      msg->kind = Message::Kind::kDurable;
      msg->lsn = ev.durable_lsn;
      msg->code = ev.error_code;
      msg->message = ev.message;
    } else {
      msg->kind = Message::Kind::kLog;
      msg->level = ev.level;
      msg->message = ev.message;
    }
    raw->Post(std::move(msg));
  });
}

Engine& EngineHandle::CheckOpen(Napi::Env env) const {
  if (!state_ || state_->closed) ThrowStatus(env, Status::Closed("the store is closed"));
  return *state_->engine;
}

Engine* EngineHandle::EngineIfOpen() const {
  return state_ && !state_->closed ? state_->engine.get() : nullptr;
}

std::shared_ptr<Engine> EngineHandle::SharedEngine(Napi::Env env) const {
  CheckOpen(env);
  return state_->engine;
}

// The end of every write call: throws a failed write's error, else holds the event loop
// for its LSN (AwaitDurable).
void EngineHandle::Submitted(Napi::Env env, const Status& s, uint64_t lsn) {
  if (!s.ok()) ThrowStatus(env, s);
  AwaitDurable(env, lsn);
}

// Keeps the event loop alive until `lsn` is reported durable: under `always` a promise
// waits for it, under interval/none the store's backpressure may, and a process should
// not exit with records its engine has not written yet.
void EngineHandle::AwaitDurable(Napi::Env env, uint64_t lsn) {
  if (lsn == 0) return;
  if (lsn > state_->awaited_lsn) state_->awaited_lsn = lsn;
  state_->SetRef(env, true);
}


Napi::Value EngineHandle::Get(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "key");
  int64_t now = Int64Arg(env, info, 1, "now");
  Napi::Value out = env.Undefined();
  e.Read(Bytes(info[0]), now, [&](const Item& item) {
    out = Napi::Buffer<char>::Copy(env, item.value_data(), item.vlen);
  });
  return out;
}

Napi::Value EngineHandle::GetInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "key");
  int64_t now = Int64Arg(env, info, 1, "now");
  RequireBytes(env, info, 2, "target");
  Napi::Uint8Array target = info[2].As<Napi::Uint8Array>();
  int64_t result = ReadInto(e, Bytes(info[0]), now, reinterpret_cast<char*>(target.Data()), target.ByteLength());
  return Napi::Number::New(env, static_cast<double>(result));
}

Napi::Value EngineHandle::GetEntry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "key");
  int64_t now = Int64Arg(env, info, 1, "now");
  Napi::Value out = env.Undefined();
  e.Read(Bytes(info[0]), now, [&](const Item& item) {
    Napi::Array a = Napi::Array::New(env, 3);
    a.Set(uint32_t{0}, Napi::Buffer<char>::Copy(env, item.value_data(), item.vlen));
    a.Set(uint32_t{1}, Napi::BigInt::New(env, item.version));
    a.Set(uint32_t{2}, Napi::Number::New(env, static_cast<double>(item.expires_at)));
    out = a;
  });
  return out;
}

Napi::Value EngineHandle::Put(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "key");
  RequireBytes(env, info, 1, "value");
  int64_t expires_at = Int64Arg(env, info, 2, "expiresAt");
  int64_t if_version = BigIntArg(env, info, 3, "ifVersion");
  int64_t now = Int64Arg(env, info, 4, "now");
  if (expires_at < 0) ThrowStatus(env, Status::InvalidArgument("expiresAt must not be negative"));
  uint64_t lsn = 0;
  Status s = e.Put(Bytes(info[0]), Bytes(info[1]), static_cast<uint64_t>(expires_at), if_version, now, &lsn);
  Submitted(env, s, lsn);
  return Napi::BigInt::New(env, lsn);
}

Napi::Value EngineHandle::Del(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "key");
  int64_t if_version = BigIntArg(env, info, 1, "ifVersion");
  int64_t now = Int64Arg(env, info, 2, "now");
  uint64_t lsn = 0;
  Status s = e.Delete(Bytes(info[0]), if_version, now, &lsn);
  Submitted(env, s, lsn);
  return Napi::BigInt::New(env, lsn);
}

Napi::Value EngineHandle::Incr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "key");
  int64_t delta = BigIntArg(env, info, 1, "delta");
  int64_t now = Int64Arg(env, info, 2, "now");
  uint64_t lsn = 0;
  int64_t result = 0;
  Status s = e.Incr(Bytes(info[0]), delta, now, &lsn, &result);
  Submitted(env, s, lsn);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(uint32_t{0}, Napi::BigInt::New(env, lsn));
  a.Set(uint32_t{1}, Napi::BigInt::New(env, result));
  return a;
}

Napi::Value EngineHandle::Batch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "body");
  int64_t now = Int64Arg(env, info, 1, "now");
  uint64_t lsn = 0;
  Status s = e.Batch(Bytes(info[0]), now, &lsn);
  Submitted(env, s, lsn);
  return Napi::BigInt::New(env, lsn);
}

Napi::Value EngineHandle::BatchIf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  RequireBytes(env, info, 0, "body");
  RequireBytes(env, info, 1, "checks");
  int64_t now = Int64Arg(env, info, 2, "now");
  uint64_t lsn = 0;
  Status s = e.BatchIf(Bytes(info[0]), Bytes(info[1]), now, &lsn);
  Submitted(env, s, lsn);
  return Napi::BigInt::New(env, lsn);
}

Napi::Value EngineHandle::Scan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  ScanArgs a = ScanArgsOf(env, info);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  e.Scan(a.start, a.end, a.limit, a.reverse, a.now, [&](const Item& item) {
    out.Set(i++, Napi::Buffer<char>::Copy(env, item.key_data(), item.klen));
    out.Set(i++, Napi::Buffer<char>::Copy(env, item.value_data(), item.vlen));
  });
  return out;
}

Napi::Value EngineHandle::Count(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  KeyBound start = BoundArg(env, info, 0, "start");
  KeyBound end = BoundArg(env, info, 1, "end");
  int64_t now = Int64Arg(env, info, 2, "now");
  return Napi::Number::New(env, static_cast<double>(e.Count(start, end, now)));
}

Napi::Value EngineHandle::Checkpoint(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  int64_t now = Int64Arg(env, info, 0, "now");
  napi_deferred deferred = nullptr;
  Napi::Promise p = NewPromise(env, &deferred);
  (new CheckpointWorker(env, state_->engine, now, deferred))->Queue();  // deletes itself when done
  return p;
}

Napi::Value EngineHandle::Sweep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  int64_t now = Int64Arg(env, info, 0, "now");
  int64_t budget = Int64Arg(env, info, 1, "budget");
  size_t removed = e.Sweep(now, budget > 0 ? static_cast<size_t>(budget) : 0);
  return Napi::Number::New(env, static_cast<double>(removed));
}

Napi::Value EngineHandle::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  EngineStats st = e.Stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("keys", Napi::Number::New(env, static_cast<double>(st.keys)));
  o.Set("nextLsn", Napi::BigInt::New(env, st.next_lsn));
  o.Set("durableLsn", Napi::BigInt::New(env, st.durable_lsn));
  o.Set("flushedLsn", Napi::BigInt::New(env, st.flushed_lsn));
  o.Set("appliedLsn", Napi::BigInt::New(env, st.applied_lsn));
  o.Set("role", Napi::String::New(env, st.role == Role::kStandby ? "standby" : "primary"));
  o.Set("walBytes", Napi::Number::New(env, static_cast<double>(st.wal_bytes)));
  o.Set("walSegments", Napi::Number::New(env, static_cast<double>(st.wal_segments)));
  o.Set("lastCheckpointLsn", Napi::BigInt::New(env, st.last_checkpoint_lsn));
  o.Set("lastCheckpointTimeMs", Napi::Number::New(env, static_cast<double>(st.last_checkpoint_time_ms)));
  o.Set("checkpoints", Napi::Number::New(env, static_cast<double>(st.checkpoints)));
  o.Set("fsyncs", Napi::Number::New(env, static_cast<double>(st.fsyncs)));
  o.Set("maxGroupCommit", Napi::Number::New(env, static_cast<double>(st.max_group_commit)));
  auto array = [&](const std::vector<uint64_t>& v) {
    Napi::Array a = Napi::Array::New(env, v.size());
    for (uint32_t i = 0; i < v.size(); i++) a.Set(i, Napi::Number::New(env, static_cast<double>(v[i])));
    return a;
  };
  o.Set("fsyncBuckets", array(st.fsync_buckets));
  o.Set("fsyncMicros", Napi::Number::New(env, static_cast<double>(st.fsync_micros)));
  o.Set("groupBuckets", array(st.group_buckets));
  o.Set("groupRecords", Napi::Number::New(env, static_cast<double>(st.group_records)));
  return o;
}

Napi::Value EngineHandle::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) return Napi::Promise::Deferred::New(env).Promise();
  HandleState& st = *state_;
  if (st.closed) {
    if (!st.close_promise.IsEmpty()) return st.close_promise.Value();
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  st.closed = true;
  // close(false) skips the final checkpoint (a standby about to rewind its WAL needs the
  // directory as it is); anything else checkpoints as before.
  st.close_checkpoint = !(info.Length() > 0 && info[0].IsBoolean() && !info[0].As<Napi::Boolean>().Value());
  Napi::Promise p = NewPromise(env, &st.close_deferred);
  st.close_promise = Napi::Persistent(p.As<Napi::Object>());
  st.SetRef(env, true);  // until kClosed arrives
  auto* worker = new CloseWorker(env, state_);  // deletes itself when done
  worker->Queue();
  return p;
}

Napi::Value EngineHandle::Kick(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_ && !state_->closed) state_->engine->Kick();
  return env.Undefined();
}

}  // namespace kvstore

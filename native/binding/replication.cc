// Binding entry points for the replication primitives (ts/engine/types.ts, "replication";
// docs/replication.md): EngineHandle methods kept apart from engine_handle.cc. Blocking
// work (reading segment files, waiting for a promotion) runs on libuv's thread pool; an
// append is checked and queued on the JS thread, so appends keep their call order, and
// becomes durable through the handle's durable notifications like any write.
#include <napi.h>

#include <memory>
#include <string>
#include <utility>

#include "engine_handle.h"
#include "errors.h"

namespace kvstore {
namespace {

uint64_t LsnArg(Napi::Env env, const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsBigInt()) {
    ThrowStatus(env, Status::InvalidArgument(std::string(name) + " must be a bigint"));
  }
  bool lossless = true;
  uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) ThrowStatus(env, Status::InvalidArgument(std::string(name) + " is out of the 64-bit range"));
  return v;
}

// ReadWal on the thread pool; resolves with [records: Buffer, firstLsn, lastLsn].
class ReadWalWorker : public Napi::AsyncWorker {
 public:
  ReadWalWorker(Napi::Env env, std::shared_ptr<Engine> engine, uint64_t from, size_t max_bytes)
      : Napi::AsyncWorker(env, "kvstore.readWal"),
        engine_(std::move(engine)),
        from_(from),
        max_bytes_(max_bytes),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { status_ = engine_->ReadWal(from_, max_bytes_, &chunk_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) {
      deferred_.Reject(StatusToError(env, status_).Value());
      return;
    }
    auto* bytes = new std::string(std::move(chunk_.records));
    Napi::Buffer<char> records = Napi::Buffer<char>::New(
        env, bytes->data(), bytes->size(), [](Napi::Env, char*, std::string* owned) { delete owned; }, bytes);
    Napi::Array out = Napi::Array::New(env, 3);
    out.Set(uint32_t{0}, records);
    out.Set(uint32_t{1}, Napi::BigInt::New(env, chunk_.first_lsn));
    out.Set(uint32_t{2}, Napi::BigInt::New(env, chunk_.last_lsn));
    deferred_.Resolve(out);
  }

 private:
  std::shared_ptr<Engine> engine_;
  uint64_t from_;
  size_t max_bytes_;
  Napi::Promise::Deferred deferred_;
  Status status_;
  WalChunk chunk_;
};

// Promote on the thread pool (it waits for the received records to be applied).
class PromoteWorker : public Napi::AsyncWorker {
 public:
  PromoteWorker(Napi::Env env, std::shared_ptr<Engine> engine)
      : Napi::AsyncWorker(env, "kvstore.promote"),
        engine_(std::move(engine)),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { status_ = engine_->Promote(); }
  void OnOK() override {
    if (status_.ok()) {
      deferred_.Resolve(Env().Undefined());
    } else {
      deferred_.Reject(StatusToError(Env(), status_).Value());
    }
  }

 private:
  std::shared_ptr<Engine> engine_;
  Napi::Promise::Deferred deferred_;
  Status status_;
};

}  // namespace

Napi::Value EngineHandle::ReadWal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Engine> engine = SharedEngine(env);
  uint64_t from = LsnArg(env, info, 0, "fromLsn");
  if (info.Length() < 2 || !info[1].IsNumber()) ThrowStatus(env, Status::InvalidArgument("maxBytes must be a number"));
  double max_bytes = info[1].As<Napi::Number>().DoubleValue();
  if (!(max_bytes >= 1 && max_bytes <= 1024.0 * 1024 * 1024)) {
    ThrowStatus(env, Status::InvalidArgument("maxBytes must be in 1 .. 1 GiB"));
  }
  auto* worker = new ReadWalWorker(env, std::move(engine), from, static_cast<size_t>(max_bytes));  // deletes itself
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value EngineHandle::AppendReplicated(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowStatus(env, Status::InvalidArgument("records must be a Buffer"));
  }
  Napi::Uint8Array records = info[0].As<Napi::Uint8Array>();
  uint64_t first = LsnArg(env, info, 1, "firstLsn");
  uint64_t last = 0;
  Status s = e.AppendReplicated(
      std::string_view(reinterpret_cast<const char*>(records.Data()), records.ByteLength()), first, &last);
  Submitted(env, s, last);  // throws a refusal; else holds the event loop until `last` is durable
  return Napi::BigInt::New(env, last);
}

Napi::Value EngineHandle::Promote(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* worker = new PromoteWorker(env, SharedEngine(env));  // deletes itself when done
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value EngineHandle::Positions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  kvstore::WalPositions p = CheckOpen(env).Positions();
  Napi::Array out = Napi::Array::New(env, 4);
  out.Set(uint32_t{0}, Napi::BigInt::New(env, p.next_lsn));
  out.Set(uint32_t{1}, Napi::BigInt::New(env, p.durable_lsn));
  out.Set(uint32_t{2}, Napi::BigInt::New(env, p.flushed_lsn));
  out.Set(uint32_t{3}, Napi::BigInt::New(env, p.applied_lsn));
  return out;
}

Napi::Value EngineHandle::GetRole(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Napi::String::New(env, CheckOpen(env).role() == Role::kStandby ? "standby" : "primary");
}

Napi::Value EngineHandle::WriteMarker(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsBuffer()) {
    ThrowStatus(env, Status::InvalidArgument("writeMarker(kind, body: Buffer)"));
  }
  double kind = info[0].As<Napi::Number>().DoubleValue();
  if (!(kind >= 0 && kind <= 255)) ThrowStatus(env, Status::InvalidArgument("kind must be 0..255"));
  Napi::Buffer<char> body = info[1].As<Napi::Buffer<char>>();
  uint64_t lsn = 0;
  Status s = e.WriteMarker(static_cast<uint8_t>(kind), std::string_view(body.Data(), body.Length()), &lsn);
  Submitted(env, s, lsn);
  return Napi::BigInt::New(env, lsn);
}

Napi::Value EngineHandle::RetainWal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& e = CheckOpen(env);
  uint64_t token = e.RetainWal(LsnArg(env, info, 0, "lsn"));
  return Napi::Number::New(env, static_cast<double>(token));
}

Napi::Value EngineHandle::ReleaseWal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowStatus(env, Status::InvalidArgument("releaseWal(token)"));
  // A release after close is a no-op: the engine's retentions died with it.
  if (Engine* engine = EngineIfOpen()) engine->ReleaseWal(static_cast<uint64_t>(info[0].As<Napi::Number>().DoubleValue()));
  return env.Undefined();
}

}  // namespace kvstore

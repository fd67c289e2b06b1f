// Calls into JS from callbacks that the event loop starts rather than JS: thread-safe
// function calls, async work completions, cleanup hooks and finalizers.
//
// Contract (issue 13, item 5): nothing here throws. A worker's environment can stop
// running JS at any instant (worker.terminate() from another thread, or teardown at
// exit), and from then on Node-API refuses every call that could run JS: calling a
// function, settling a promise, setting a property. node-addon-api turns such a refusal
// into a C++ exception, and an exception leaving a callback the loop started ends in
// std::terminate — the whole process dies, not just the worker. So these helpers speak
// raw Node-API, check every status and, when the environment is going away, drop the
// call: nobody is left to observe it.
#ifndef KVSTORE_BINDING_JS_CALL_H_
#define KVSTORE_BINDING_JS_CALL_H_

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "../core/status.h"

namespace kvstore {

// True when env can no longer run JS (its worker is being terminated or the environment
// is being torn down). Node-API reports that as napi_pending_exception (napi_cannot_run_js
// from Node-API 10 on) with no exception actually pending; this probes with one such
// call on a fresh object. REQUIRES: the env's JS thread, no exception pending.
bool JsUnavailable(napi_env env) noexcept;

// Calls fn(argv...) with `undefined` as this. A listener that throws has its error
// reported as uncaught (napi_fatal_exception), as for any callback; a call refused
// because env is going away is dropped. JS thread only.
void CallListener(napi_env env, napi_ref fn, size_t argc, const napi_value* argv) noexcept;

// Resolves (ok) or rejects the promise of `deferred` with value; consumes the deferred.
// Dropped when env is going away. JS thread only.
void Settle(napi_env env, napi_deferred deferred, bool ok, napi_value value) noexcept;

// Value constructors for the helpers above: nullptr when the value cannot be made
// (the callers then drop what they were about to deliver).
napi_value JsString(napi_env env, const std::string& s) noexcept;
napi_value JsBigInt(napi_env env, uint64_t v) noexcept;
napi_value JsUndefined(napi_env env) noexcept;
// StatusToError's twin that never throws: an Error with the Status's message and code.
napi_value JsStatusError(napi_env env, const Status& s) noexcept;

// A handle scope for a loop-started callback; closed at the end of the block.
class JsScope {
 public:
  explicit JsScope(napi_env env) noexcept : env_(env) {
    if (napi_open_handle_scope(env, &scope_) != napi_ok) scope_ = nullptr;
  }
  ~JsScope() {
    if (scope_ != nullptr) napi_close_handle_scope(env_, scope_);
  }
  JsScope(const JsScope&) = delete;
  JsScope& operator=(const JsScope&) = delete;

 private:
  napi_env env_;
  napi_handle_scope scope_ = nullptr;
};

}  // namespace kvstore

#endif  // KVSTORE_BINDING_JS_CALL_H_

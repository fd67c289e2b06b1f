#include "js_call.h"

#include "errors.h"

namespace kvstore {

bool JsUnavailable(napi_env env) noexcept {
  napi_value obj = nullptr;
  napi_value undef = nullptr;
  if (napi_create_object(env, &obj) != napi_ok || napi_get_undefined(env, &undef) != napi_ok) return true;
  if (napi_set_named_property(env, obj, "probe", undef) == napi_ok) return false;
  // Refused with no exception pending: the environment is stopping.
  bool pending = false;
  return napi_is_exception_pending(env, &pending) != napi_ok || !pending;
}

void CallListener(napi_env env, napi_ref fn, size_t argc, const napi_value* argv) noexcept {
  for (size_t i = 0; i < argc; i++) {
    if (argv[i] == nullptr) return;  // an argument could not be made: env is going away
  }
  napi_value fn_value = nullptr;
  napi_value recv = nullptr;
  napi_value result = nullptr;
  if (napi_get_reference_value(env, fn, &fn_value) != napi_ok || fn_value == nullptr) return;
  if (napi_get_undefined(env, &recv) != napi_ok) return;
  if (napi_call_function(env, recv, fn_value, argc, argv, &result) == napi_ok) return;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;  // refused: env stopping
  napi_value error = nullptr;
  if (napi_get_and_clear_last_exception(env, &error) != napi_ok) return;
  // Either the listener threw, or termination cut the call short (then the "exception" is
  // V8's termination marker and JS cannot run any more): report only the former.
  if (JsUnavailable(env)) return;
  napi_fatal_exception(env, error);
}

void Settle(napi_env env, napi_deferred deferred, bool ok, napi_value value) noexcept {
  if (value == nullptr) value = JsUndefined(env);
  if (value == nullptr) return;
  // A refusal means env is stopping: the promise can never be observed, and the
  // deferred's handle goes with the environment.
  if (ok) {
    napi_resolve_deferred(env, deferred, value);
  } else {
    napi_reject_deferred(env, deferred, value);
  }
}

napi_value JsString(napi_env env, const std::string& s) noexcept {
  napi_value v = nullptr;
  return napi_create_string_utf8(env, s.data(), s.size(), &v) == napi_ok ? v : nullptr;
}

napi_value JsBigInt(napi_env env, uint64_t n) noexcept {
  napi_value v = nullptr;
  return napi_create_bigint_uint64(env, n, &v) == napi_ok ? v : nullptr;
}

napi_value JsUndefined(napi_env env) noexcept {
  napi_value v = nullptr;
  return napi_get_undefined(env, &v) == napi_ok ? v : nullptr;
}

napi_value JsStatusError(napi_env env, const Status& s) noexcept {
  napi_value code = JsString(env, StatusCodeName(s));
  napi_value message = JsString(env, s.message());
  napi_value error = nullptr;
  if (code == nullptr || message == nullptr) return nullptr;
  return napi_create_error(env, code, message, &error) == napi_ok ? error : nullptr;
}

}  // namespace kvstore

// The one place a core Status becomes a JS Error: message from the Status, and a string
// `code` property (CORRUPT, IO_ERROR, VERSION_MISMATCH, NOT_A_NUMBER, LOCKED, CLOSED,
// INVALID_ARGUMENT) that ts/errors.ts maps to its catalogue.
#ifndef KVSTORE_BINDING_ERRORS_H_
#define KVSTORE_BINDING_ERRORS_H_

#include <napi.h>

#include "../core/status.h"

namespace kvstore {

const char* StatusCodeName(const Status& s);
Napi::Error StatusToError(Napi::Env env, const Status& s);

// Throws StatusToError(env, s) as a C++ exception (node-addon-api turns it into a JS
// throw at the boundary). REQUIRES: !s.ok().
[[noreturn]] void ThrowStatus(Napi::Env env, const Status& s);

}  // namespace kvstore

#endif  // KVSTORE_BINDING_ERRORS_H_

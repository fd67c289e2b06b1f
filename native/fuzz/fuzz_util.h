// Shared by the fuzz targets: Require() turns a broken invariant into an abort, which
// libFuzzer (and the replay runner under ctest) reports as a crash with its input.
#ifndef KVSTORE_FUZZ_FUZZ_UTIL_H_
#define KVSTORE_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>

namespace kvstore {
namespace fuzz {

inline void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace fuzz
}  // namespace kvstore

#endif  // KVSTORE_FUZZ_FUZZ_UTIL_H_

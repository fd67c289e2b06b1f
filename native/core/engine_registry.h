// Process-wide registry of open engines, keyed by the real path of their directory:
// several worker_threads (each with its own JS handle) that open the same directory share
// one Engine. Reference counted; the last release performs the real close. Thread-safe.
#ifndef KVSTORE_CORE_ENGINE_REGISTRY_H_
#define KVSTORE_CORE_ENGINE_REGISTRY_H_

#include <memory>
#include <vector>

#include "engine.h"
#include "status.h"

namespace kvstore {

// Opens options.dir or takes another reference to the engine already open there (its
// options win; `logs` then stays empty).
Status AcquireEngine(const EngineOptions& options, std::vector<LogLine>* logs, std::shared_ptr<Engine>* out);

// Drops one reference; the last one closes the engine (final checkpoint if asked) and
// returns the close status. The caller's pointer stays usable (every method then
// returns Closed).
Status ReleaseEngine(const std::shared_ptr<Engine>& engine, bool final_checkpoint);

}  // namespace kvstore

#endif  // KVSTORE_CORE_ENGINE_REGISTRY_H_

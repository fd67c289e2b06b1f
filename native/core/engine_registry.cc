#include "engine_registry.h"

#include <map>
#include <mutex>
#include <string>

#include "file_util.h"

namespace kvstore {
namespace {

struct Registered {
  std::shared_ptr<Engine> engine;
  int refs = 0;
};

struct Registry {
  // Held across open and the real close, so a re-open of the same directory waits for
  // the close to release LOCK instead of failing on our own flock.
  std::mutex mu;
  std::map<std::string, Registered> open;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

}  // namespace

Status AcquireEngine(const EngineOptions& options, std::vector<LogLine>* logs, std::shared_ptr<Engine>* out) {
  Status s = MakeDirs(options.dir);
  if (!s.ok()) return s;
  std::string real;
  s = RealPath(options.dir, &real);
  if (!s.ok()) return s;
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.open.find(real);
  if (it != r.open.end()) {
    it->second.refs++;
    *out = it->second.engine;
    return Status::Ok();
  }
  EngineOptions opts = options;
  opts.dir = real;
  std::unique_ptr<Engine> engine;
  s = Engine::Open(opts, logs, &engine);
  if (!s.ok()) return s;
  Registered& reg = r.open[real];
  reg.engine = std::shared_ptr<Engine>(std::move(engine));
  reg.refs = 1;
  *out = reg.engine;
  return Status::Ok();
}

Status ReleaseEngine(const std::shared_ptr<Engine>& engine, bool final_checkpoint) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (auto it = r.open.begin(); it != r.open.end(); ++it) {
    if (it->second.engine != engine) continue;
    if (--it->second.refs > 0) return Status::Ok();
    r.open.erase(it);
    return engine->Close(final_checkpoint);
  }
  return Status::Ok();  // already released
}

}  // namespace kvstore

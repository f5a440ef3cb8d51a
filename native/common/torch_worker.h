// Async jobs of module-level functions (the loss, anything not owned by one object): queued in
// call order on the environment's shared JobQueue (common/job_queue.h), the executor models use
// too. `work` runs off the JS thread without touching JS values; `resolve` builds the result on
// the JS thread; errors reach JS with their kind (common/errors.h).
#pragma once

#include <napi.h>

#include <utility>
#include <vector>

#include "common/job_queue.h"

namespace sphereface {

struct TorchWorker {
  // `keep_alive` holds JS values (input buffers, a wrapped object) until the Promise settles.
  static Napi::Promise Run(Napi::Env env, JobQueue::Work work, JobQueue::Resolve resolve,
                           const std::vector<Napi::Value>& keep_alive = {}) {
    return JobQueue::Shared(env).Submit(env, std::move(work), std::move(resolve), keep_alive);
  }
};

}  // namespace sphereface

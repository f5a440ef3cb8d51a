#include "common/thread_setup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

namespace sphereface {

namespace {
thread_local bool prepared = false;
}

void PrepareWorkerThread() {
  // With the OpenMP backend the team size is per thread: re-apply the count setNumThreads last
  // set (it may change between calls), or this worker keeps OpenMP's default.
  at::init_num_threads();
  if (prepared) return;
  prepared = true;
  // setFlushDenormal acts on the calling thread's MXCSR; run it on each intra-op thread too.
  at::globalContext().setFlushDenormal(true);
  const int threads = at::get_num_threads();
  at::parallel_for(0, threads, 1,
                   [](int64_t, int64_t) { at::globalContext().setFlushDenormal(true); });
}

}  // namespace sphereface

#include "common/thread_setup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <atomic>

namespace sphereface {

namespace {
std::atomic<int> wanted_threads{0};  // 0 until SetIntraOpThreads: OpenMP's default
thread_local int applied_threads = 0;
thread_local bool flushing_denormals = false;
}  // namespace

void SetIntraOpThreads(int threads) {
  at::set_num_threads(threads);
  wanted_threads.store(threads);
  applied_threads = threads;
}

void PrepareWorkerThread() {
  // With the OpenMP backend the team size is per thread, so a worker applies the count itself,
  // but only when it changed. Done before every job it slowed the job's first convs (measured:
  // sphere-cnn4's forward 84-88 ms a step, 66-76 without it), likely because
  // at::set_num_threads also rebuilds libtorch's pthreadpool, whose new threads spin while idle.
  const int wanted = wanted_threads.load();
  if (wanted > 0 && wanted != applied_threads) {
    at::set_num_threads(wanted);
    applied_threads = wanted;
  }
  if (flushing_denormals) return;
  flushing_denormals = true;
  // setFlushDenormal acts on the calling thread's MXCSR; run it on each intra-op thread too.
  at::globalContext().setFlushDenormal(true);
  const int threads = at::get_num_threads();
  at::parallel_for(0, threads, 1,
                   [](int64_t, int64_t) { at::globalContext().setFlushDenormal(true); });
}

}  // namespace sphereface

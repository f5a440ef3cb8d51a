// [sync] info(): what the addon was built against and runs with.
// [sync] setNumThreads(n): libtorch's intra-op threads.
// [sync] shutdown(): stops every job queue of this environment (common/job_queue.h): the running
//   job finishes, queued ones are dropped, later async calls reject. lib/native.ts calls it on
//   process 'exit', after which no environment cleanup hook runs.
#include <ATen/Parallel.h>
#include <napi.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <fstream>
#include <set>
#include <string>

#include "bindings/bindings.h"
#include "common/errors.h"
#include "common/job_queue.h"
#include "common/thread_setup.h"
#include "dist/process_group.h"
#include "nets/dnnl_plumbing.h"
#include "nets/strided_conv_stack.h"
#include "nets/winograd_conv.h"

#ifdef SPHEREFACE_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

#ifndef SPHEREFACE_TORCH_SOURCE
#define SPHEREFACE_TORCH_SOURCE "unknown"
#endif

namespace sphereface {

namespace {

// The BLAS libraries mapped into this process: what actually runs, whatever libtorch was built
// against (Debian switches between reference BLAS and OpenBLAS through alternatives).
std::string LoadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> found;
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    auto name = path.substr(path.rfind('/') + 1);
    if (name.find("blas") != std::string::npos || name.find("mkl_core") != std::string::npos) {
      found.insert(path);
    }
  }
  std::string joined;
  for (const auto& path : found) joined += (joined.empty() ? "" : ", ") + path;
  return joined.empty() ? "none loaded" : joined;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto result = Napi::Object::New(env);
  result.Set("torchVersion", TORCH_VERSION);
  result.Set("torchSource", SPHEREFACE_TORCH_SOURCE);
  const bool cuda = torch::cuda::is_available();
  result.Set("cudaAvailable", cuda);
  const int devices = cuda ? static_cast<int>(torch::cuda::device_count()) : 0;
  result.Set("cudaDeviceCount", devices);
  auto names = Napi::Array::New(env);
#ifdef SPHEREFACE_WITH_CUDA
  for (int i = 0; i < devices; ++i) names.Set(i, at::cuda::getDeviceProperties(i)->name);
#endif
  result.Set("cudaDevices", names);
#ifdef SPHEREFACE_WITH_CUDA
  result.Set("cudaKernels", true);
#else
  result.Set("cudaKernels", false);
#endif
  const auto backends = DistributedBackends();
  auto distributed = Napi::Array::New(env, backends.size());
  for (size_t i = 0; i < backends.size(); ++i) distributed.Set(i, backends[i]);
  result.Set("distributedBackends", distributed);
  result.Set("numThreads", at::get_num_threads());
  result.Set("blas", LoadedBlas());
  result.Set("parallelInfo", at::get_parallel_info());
  result.Set("winograd", WinogradAvailable());
  result.Set("blockedConvs", BlockedConvsAvailable());
#ifdef SPHEREFACE_DNNL_KERNELS
  result.Set("dnnlKernels", true);  // built with them; winograd / blockedConvs: this CPU runs them
#else
  result.Set("dnnlKernels", false);
#endif
  return result;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    throw Napi::TypeError::New(env, "Expected a positive integer for threads");
  }
  const int threads = info[0].As<Napi::Number>().Int32Value();
  RunOrThrow(env, [&] { SetIntraOpThreads(threads); });
  return env.Undefined();
}

}  // namespace

void InitShutdown(Napi::Env env, Napi::Object exports) {
  exports.Set("shutdown", Napi::Function::New(
                              env,
                              [](const Napi::CallbackInfo& info) {
                                JobQueue::StopAll(info.Env());
                                return info.Env().Undefined();
                              },
                              "shutdown"));
}

void InitInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
}

}  // namespace sphereface

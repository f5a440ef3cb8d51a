// Module init only: the CPU block cache goes in, then each family of bindings registers itself.
#include <napi.h>

#include "bindings/bindings.h"
#include "common/cpu_block_cache.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sphereface::InstallCpuBlockCache();
  sphereface::InitInfo(env, exports);
  sphereface::InitLoss(env, exports);
  sphereface::InitModel(env, exports);
  sphereface::InitDist(env, exports);
  sphereface::InitStore(env, exports);
  sphereface::InitImage(env, exports);
  sphereface::InitShutdown(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sphereface, Init)

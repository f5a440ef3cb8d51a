// Module init only: each family of bindings registers itself.
#include <napi.h>

#include "bindings/bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sphereface::InitInfo(env, exports);
  sphereface::InitLoss(env, exports);
  sphereface::InitModel(env, exports);
  sphereface::InitStore(env, exports);
  sphereface::InitShutdown(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sphereface, Init)

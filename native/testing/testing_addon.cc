// Module init of the testing addon (sphereface_testing.node): hooks into single layers and the
// native benchmarks, built from the same objects as the production addon but never shipped or
// loaded by the library. Tests and benches load it through lib/native.ts's nativeTesting().
#include <napi.h>

#include "bindings/bindings.h"
#include "testing/testing_bindings.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sphereface::InitLayerHooks(env, exports);
  sphereface::InitBench(env, exports);
  sphereface::InitShutdown(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sphereface_testing, Init)

// The testing addon's families of bindings; testing_addon.cc calls each once.
#pragma once

#include <napi.h>

namespace sphereface {

void InitLayerHooks(Napi::Env env, Napi::Object exports);  // layer_hooks.cc
void InitBench(Napi::Env env, Napi::Object exports);       // bench/margin_softmax_bench.cc

}  // namespace sphereface

// One registration function per family of bindings; addon.cc calls each once.
#pragma once

#include <napi.h>

namespace sphereface {

void InitInfo(Napi::Env env, Napi::Object exports);
void InitLoss(Napi::Env env, Napi::Object exports);
void InitModel(Napi::Env env, Napi::Object exports);
void InitStore(Napi::Env env, Napi::Object exports);
// shutdown(), which every addon built from these sources exports (see info_binding.cc).
void InitShutdown(Napi::Env env, Napi::Object exports);

}  // namespace sphereface

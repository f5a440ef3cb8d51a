// One registration function per family of bindings; addon.cc calls each once.
#pragma once

#include <napi.h>

#include <memory>

namespace sphereface {

void InitInfo(Napi::Env env, Napi::Object exports);
void InitLoss(Napi::Env env, Napi::Object exports);
void InitModel(Napi::Env env, Napi::Object exports);
void InitDist(Napi::Env env, Napi::Object exports);
void InitStore(Napi::Env env, Napi::Object exports);
void InitImage(Napi::Env env, Napi::Object exports);
// shutdown(), which every addon built from these sources exports (see info_binding.cc).
void InitShutdown(Napi::Env env, Napi::Object exports);

class DistributedGroup;
// The group a NativeProcessGroup (dist_binding.cc) has joined; a JS TypeError for anything else.
std::shared_ptr<DistributedGroup> GroupOfHandle(Napi::Env env, const Napi::Value& value);

}  // namespace sphereface

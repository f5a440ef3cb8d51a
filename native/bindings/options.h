// Reading the options objects lib/ passes to the bindings. TypeScript owns every default and passes
// every field: a missing or mistyped field is a JS TypeError naming it, never a silent fallback.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "ops/margin_softmax.h"

namespace sphereface {

double RequireNumber(const Napi::Object& options, const char* key);
// A number that is a whole number (a TypeError naming the key otherwise).
int64_t RequireInteger(const Napi::Object& options, const char* key);
bool RequireBool(const Napi::Object& options, const char* key);
std::string RequireString(const Napi::Object& options, const char* key);
Napi::Object RequireObject(const Napi::Object& options, const char* key);

// { kind: 'sphere' | 'cos' | 'arc', m, scale, lambda } (lib/ops/margin-head.ts toNativeHead);
// CheckMarginHead judges the values.
MarginHead RequireMarginHead(const Napi::Object& head);

}  // namespace sphereface

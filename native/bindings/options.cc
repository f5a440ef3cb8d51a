#include "bindings/options.h"

#include <cmath>

namespace sphereface {

namespace {

std::string TypeOf(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined:
      return "undefined";
    case napi_null:
      return "null";
    case napi_boolean:
      return "boolean";
    case napi_number:
      return "number";
    case napi_string:
      return "string";
    default:
      return "object";
  }
}

Napi::Value Require(const Napi::Object& options, const char* key, napi_valuetype type,
                    const char* type_name) {
  Napi::Value value = options.Get(key);
  if (value.Type() != type) {
    throw Napi::TypeError::New(options.Env(), std::string("Expected ") + type_name + " for " + key +
                                                  " but received " + TypeOf(value));
  }
  return value;
}

}  // namespace

double RequireNumber(const Napi::Object& options, const char* key) {
  return Require(options, key, napi_number, "number").As<Napi::Number>().DoubleValue();
}

int64_t RequireInteger(const Napi::Object& options, const char* key) {
  const double number = RequireNumber(options, key);
  if (!(std::abs(number) < 9007199254740992.0) || number != std::trunc(number)) {
    throw Napi::TypeError::New(options.Env(), std::string("Expected an integer for ") + key +
                                                  " but received " + std::to_string(number));
  }
  return static_cast<int64_t>(number);
}

bool RequireBool(const Napi::Object& options, const char* key) {
  return Require(options, key, napi_boolean, "boolean").As<Napi::Boolean>().Value();
}

std::string RequireString(const Napi::Object& options, const char* key) {
  return Require(options, key, napi_string, "string").As<Napi::String>().Utf8Value();
}

Napi::Object RequireObject(const Napi::Object& options, const char* key) {
  return Require(options, key, napi_object, "object").As<Napi::Object>();
}

MarginHead RequireMarginHead(const Napi::Object& head) {
  MarginHead out;
  const std::string kind = RequireString(head, "kind");
  if (kind == "sphere") {
    out.kind = MarginKind::kSphere;
  } else if (kind == "cos") {
    out.kind = MarginKind::kCos;
  } else if (kind == "arc") {
    out.kind = MarginKind::kArc;
  } else {
    throw Napi::RangeError::New(
        head.Env(), "Expected 'sphere', 'cos' or 'arc' for head.kind but received '" + kind + "'");
  }
  out.m = RequireNumber(head, "m");
  out.scale = RequireNumber(head, "scale");
  out.lambda = RequireNumber(head, "lambda");
  return out;
}

}  // namespace sphereface

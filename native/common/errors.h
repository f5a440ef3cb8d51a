// Turning C++ exceptions into JS errors a user can act on, of the same class whether the call
// was synchronous or settled later from a worker thread.
//
// Code that finds a bad argument off the JS thread says which kind it is with libtorch's own
// macros: TORCH_CHECK_TYPE (c10::TypeError) becomes a JS TypeError, TORCH_CHECK_VALUE
// (c10::ValueError) and TORCH_CHECK_INDEX (c10::IndexError) a RangeError; any other exception
// a plain Error.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

namespace sphereface {

enum class ErrorKind { kError, kTypeError, kRangeError };

// An error caught off the JS thread, kept as plain C++ values until it can become a JS error.
struct NativeError {
  ErrorKind kind = ErrorKind::kError;
  std::string message;  // empty: no error
  bool failed() const { return !message.empty(); }
};

// Runs `body` and returns what it threw (or no error): c10::Error without its C++ backtrace,
// then std::exception, then anything else. Never lets an exception escape.
NativeError CaptureError(const std::function<void()>& body);

// The JS error of `error`'s kind.
Napi::Error ToJsError(Napi::Env env, const NativeError& error);

// For synchronous bindings: runs `body` on the JS thread and throws the JS error of the kind it
// threw. A Napi::Error thrown by `body` passes through as it is.
void RunOrThrow(Napi::Env env, const std::function<void()>& body);

}  // namespace sphereface

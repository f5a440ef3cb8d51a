#include "common/errors.h"

#include <c10/util/Exception.h>

#include <exception>

namespace sphereface {

NativeError CaptureError(const std::function<void()>& body) {
  try {
    body();
    return {};
  } catch (const c10::TypeError& e) {
    return {ErrorKind::kTypeError, e.what_without_backtrace()};
  } catch (const c10::ValueError& e) {
    return {ErrorKind::kRangeError, e.what_without_backtrace()};
  } catch (const c10::IndexError& e) {
    return {ErrorKind::kRangeError, e.what_without_backtrace()};
  } catch (const c10::Error& e) {
    return {ErrorKind::kError, e.what_without_backtrace()};
  } catch (const std::exception& e) {
    return {ErrorKind::kError, e.what()};
  } catch (...) {
    return {ErrorKind::kError, "unknown native error"};
  }
}

Napi::Error ToJsError(Napi::Env env, const NativeError& error) {
  switch (error.kind) {
    case ErrorKind::kTypeError:
      return Napi::TypeError::New(env, error.message);
    case ErrorKind::kRangeError:
      return Napi::RangeError::New(env, error.message);
    case ErrorKind::kError:
      break;
  }
  return Napi::Error::New(env, error.message);
}

void RunOrThrow(Napi::Env env, const std::function<void()>& body) {
  std::exception_ptr js_error;
  NativeError error = CaptureError([&] {
    try {
      body();
    } catch (const Napi::Error&) {
      js_error = std::current_exception();
    }
  });
  if (js_error) std::rethrow_exception(js_error);
  if (error.failed()) throw ToJsError(env, error);
}

}  // namespace sphereface

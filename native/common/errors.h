// Turning C++ exceptions into messages a JS user can act on.
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <functional>
#include <string>

namespace sphereface {

// Runs `body` and returns "" on success, or the error's message: c10::Error without its
// C++ backtrace, then std::exception, then anything else. Never lets an exception escape.
inline std::string CaptureError(const std::function<void()>& body) {
  try {
    body();
    return "";
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

}  // namespace sphereface

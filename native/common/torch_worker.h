// The one async pattern for heavy native calls: arguments are read into plain C++ values on
// the main thread, `Execute` runs libtorch work on a worker thread without touching JS, and the
// result (or a JS Error with the collected message) is built back on the main thread.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "common/errors.h"

namespace sphereface {

class TorchWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<void()>;
  using Resolve = std::function<Napi::Value(Napi::Env)>;

  // Queues `work` and returns a Promise resolved with `resolve(env)` once it has run.
  // `keep_alive` holds JS values (input buffers, the wrapped object) for the whole call.
  static Napi::Promise Run(Napi::Env env, Work work, Resolve resolve,
                           std::vector<Napi::Value> keep_alive = {});

 protected:
  TorchWorker(Napi::Env env, Work work, Resolve resolve, std::vector<Napi::Value> keep_alive);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Resolve resolve_;
  std::vector<Napi::Reference<Napi::Value>> keep_alive_;
};

}  // namespace sphereface

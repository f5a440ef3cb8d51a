#include "common/torch_worker.h"

#include "common/thread_setup.h"

namespace sphereface {

Napi::Promise TorchWorker::Run(Napi::Env env, Work work, Resolve resolve,
                               std::vector<Napi::Value> keep_alive) {
  auto* worker = new TorchWorker(env, std::move(work), std::move(resolve), std::move(keep_alive));
  Napi::Promise promise = worker->deferred_.Promise();
  worker->Queue();
  return promise;
}

TorchWorker::TorchWorker(Napi::Env env, Work work, Resolve resolve,
                         std::vector<Napi::Value> keep_alive)
    : Napi::AsyncWorker(env, "sphereface:torch"),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      resolve_(std::move(resolve)) {
  for (auto& value : keep_alive) keep_alive_.push_back(Napi::Persistent(value));
}

void TorchWorker::Execute() {
  PrepareWorkerThread();
  std::string message = CaptureError(work_);
  if (!message.empty()) SetError(message);
}

void TorchWorker::OnOK() {
  Napi::Env env = Env();
  Napi::Value result;
  std::string message = CaptureError([&] {
    try {
      result = resolve_(env);
    } catch (const Napi::Error& e) {
      throw std::runtime_error(e.Message());
    }
  });
  if (message.empty()) {
    deferred_.Resolve(result);
  } else {
    deferred_.Reject(Napi::Error::New(env, message).Value());
  }
}

void TorchWorker::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }

}  // namespace sphereface

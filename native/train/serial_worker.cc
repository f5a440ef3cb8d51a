#include "train/serial_worker.h"

#include "common/errors.h"
#include "common/thread_setup.h"

namespace sphereface {

struct SerialWorker::Job {
  SerialWorker* owner;
  Work work;
  Resolve resolve;
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> keep_alive;
  Napi::ThreadSafeFunction done;  // one per job: it keeps the event loop alive while pending
  std::string error;
};

SerialWorker::SerialWorker() : thread_([this] { Loop(); }) {}

SerialWorker::~SerialWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Napi::Promise SerialWorker::Submit(Napi::Env env, Work work, Resolve resolve,
                                   const std::vector<Napi::Value>& keep_alive) {
  auto* job = new Job{
      this, std::move(work), std::move(resolve), Napi::Promise::Deferred::New(env), {}, {}, {}};
  for (const auto& value : keep_alive) job->keep_alive.push_back(Napi::Persistent(value));
  job->done = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "sphereface:model", 0, 1);
  Napi::Promise promise = job->deferred.Promise();
  ++in_flight_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
  }
  wake_.notify_one();
  return promise;
}

void SerialWorker::Loop() {
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and nothing left
      job = queue_.front();
      queue_.pop_front();
    }
    job->error = CaptureError([&] {
      // This thread's OpenMP team follows the current setNumThreads, and flushes denormals.
      PrepareWorkerThread();
      job->work();
    });
    Napi::ThreadSafeFunction done = job->done;
    if (done.BlockingCall(job, Settle) != napi_ok) {
      // The environment is shutting down: nobody is left to settle the Promise. The job's JS
      // handles belong to the dying environment, so the job is leaked rather than freed here.
    }
    done.Release();
  }
}

void SerialWorker::Settle(Napi::Env env, Napi::Function, Job* job) {
  std::string error = job->error;
  Napi::Value value;
  if (error.empty()) {
    error = CaptureError([&] {
      try {
        value = job->resolve(env);
      } catch (const Napi::Error& e) {
        throw std::runtime_error(e.Message());
      }
    });
  }
  --job->owner->in_flight_;
  if (error.empty()) {
    job->deferred.Resolve(value);
  } else {
    job->deferred.Reject(Napi::Error::New(env, error).Value());
  }
  delete job;
}

}  // namespace sphereface

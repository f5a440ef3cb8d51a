#include "common/job_queue.h"

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/errors.h"
#include "common/thread_setup.h"

namespace sphereface {

struct JobQueue::Job {
  Work work;
  Resolve resolve;
  Napi::Promise::Deferred deferred;
  std::vector<Napi::Reference<Napi::Value>> keep_alive;
  NativeError error;

  // For a job whose environment is going away: its JS handles are left to the environment, which
  // frees them itself; only the C++ side is released.
  void Abandon() {
    for (auto& reference : keep_alive) reference.SuppressDestruct();
  }
};

namespace {

// The queues of each environment (one per main thread or worker_threads Worker). Touched on the
// environments' JS threads only, but several environments may run at once.
struct EnvQueues {
  std::vector<JobQueue*> live;
  std::unique_ptr<JobQueue> shared;
  bool stopped = false;
};
std::mutex registry_mutex;
std::unordered_map<napi_env, EnvQueues> registry;

void CleanupHook(void* arg) {
  napi_env env = static_cast<napi_env>(arg);
  JobQueue::StopAll(env);
  std::unique_ptr<JobQueue> shared;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto entry = registry.find(env);
    if (entry == registry.end()) return;
    shared = std::move(entry->second.shared);
    registry.erase(entry);
  }
  // The queues of models not collected yet are released by their finalizers, after this hook.
}

// The entry of `env`, made (with its cleanup hook) on first use. Called with registry_mutex held.
EnvQueues& EntryOf(napi_env env) {
  auto entry = registry.find(env);
  if (entry != registry.end()) return entry->second;
  napi_add_env_cleanup_hook(env, CleanupHook, env);
  return registry[env];
}

void Unregister(napi_env env, JobQueue* queue) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto entry = registry.find(env);
  if (entry == registry.end()) return;
  auto& live = entry->second.live;
  live.erase(std::remove(live.begin(), live.end(), queue), live.end());
}

}  // namespace

JobQueue::JobQueue(Napi::Env env) : env_(env) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    stopped_ = stopping_ = EntryOf(env_).stopped;
  }
  if (!stopped_) {
    NAPI_THROW_IF_FAILED_VOID(
        env, napi_create_threadsafe_function(env, nullptr, nullptr,
                                             Napi::String::New(env, "sphereface:job"), 0, 1,
                                             nullptr, nullptr, this, CallJs, &done_));
    // An idle queue must not keep the process alive: referenced only while jobs are in flight.
    napi_unref_threadsafe_function(env, done_);
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (...) {
      napi_release_threadsafe_function(done_, napi_tsfn_abort);
      throw;
    }
  }
  // Registered once nothing can throw any more: a queue that failed to start never is.
  std::lock_guard<std::mutex> lock(registry_mutex);
  EntryOf(env_).live.push_back(this);
}

JobQueue::~JobQueue() {
  Stop();
  Unregister(env_, this);
}

Napi::Promise JobQueue::Submit(Napi::Env env, Work work, Resolve resolve,
                               const std::vector<Napi::Value>& keep_alive) {
  auto* job =
      new Job{std::move(work), std::move(resolve), Napi::Promise::Deferred::New(env), {}, {}};
  Napi::Promise promise = job->deferred.Promise();
  if (stopped_) {
    job->deferred.Reject(
        Napi::Error::New(env, "sphereface: native calls are stopped (the process is exiting)")
            .Value());
    delete job;
    return promise;
  }
  for (const auto& value : keep_alive) job->keep_alive.push_back(Napi::Persistent(value));
  if (in_flight_++ == 0) napi_ref_threadsafe_function(env, done_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
  }
  wake_.notify_one();
  return promise;
}

void JobQueue::CheckIdleForDispose(Napi::Env env, const char* owner) const {
  if (in_flight_ == 0) return;
  throw Napi::Error::New(env, "dispose() called while " + std::to_string(in_flight_) +
                                  " call(s) on this " + owner +
                                  " are still running; await them first");
}

void JobQueue::Loop() {
  for (;;) {
    Job* job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;  // Stop() drops what is left
      job = queue_.front();
      queue_.pop_front();
    }
    job->error = CaptureError([&] {
      // This thread's OpenMP team follows the current setNumThreads, and flushes denormals.
      PrepareWorkerThread();
      job->work();
    });
    if (napi_call_threadsafe_function(done_, job, napi_tsfn_blocking) != napi_ok) {
      job->Abandon();  // the environment is closing: nobody is left to settle the Promise
      delete job;
    }
  }
}

void JobQueue::Stop() {
  if (stopped_) return;
  stopped_ = true;
  std::deque<Job*> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Job* job : dropped) {
    job->Abandon();
    delete job;
  }
  // Jobs that finished but were not settled yet come back to CallJs without an environment.
  if (done_ != nullptr) napi_release_threadsafe_function(done_, napi_tsfn_abort);
  done_ = nullptr;
}

void JobQueue::CallJs(napi_env env, napi_value, void* context, void* data) {
  auto* job = static_cast<Job*>(data);
  if (env == nullptr) {
    job->Abandon();
    delete job;
    return;
  }
  static_cast<JobQueue*>(context)->Settle(Napi::Env(env), job);
}

void JobQueue::Settle(Napi::Env env, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (--in_flight_ == 0 && done_ != nullptr) napi_unref_threadsafe_function(env, done_);
  if (job->error.failed()) {
    job->deferred.Reject(ToJsError(env, job->error).Value());
    return;
  }
  Napi::Value value;
  Napi::Value js_error;
  NativeError error = CaptureError([&] {
    try {
      value = job->resolve(env);
    } catch (const Napi::Error& e) {
      js_error = e.Value();
    }
  });
  if (!js_error.IsEmpty()) {
    job->deferred.Reject(js_error);
  } else if (error.failed()) {
    job->deferred.Reject(ToJsError(env, error).Value());
  } else {
    job->deferred.Resolve(value);
  }
}

JobQueue& JobQueue::Shared(Napi::Env env) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto entry = registry.find(env);
    if (entry != registry.end() && entry->second.shared) return *entry->second.shared;
  }
  auto queue = std::make_unique<JobQueue>(env);
  JobQueue& shared = *queue;
  std::lock_guard<std::mutex> lock(registry_mutex);
  EntryOf(env).shared = std::move(queue);
  return shared;
}

void JobQueue::StopAll(napi_env env) {
  std::vector<JobQueue*> queues;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    EnvQueues& entry = EntryOf(env);
    entry.stopped = true;
    queues = entry.live;
  }
  for (JobQueue* queue : queues) queue->Stop();
}

}  // namespace sphereface

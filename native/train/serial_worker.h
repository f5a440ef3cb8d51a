// One native thread per model that runs that model's jobs in submission order and settles each
// job's Promise on the JS thread through a ThreadSafeFunction.
//
// Why not Napi::AsyncWorker: training steps take seconds, and libuv's pool has 4 threads shared
// with fs, dns and zlib; a few models stepping at once would stall the whole process. A thread
// per model also serialises a model's calls for free: overlapping calls queue, never race.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sphereface {

class SerialWorker {
 public:
  using Work = std::function<void()>;                     // runs on the worker thread
  using Resolve = std::function<Napi::Value(Napi::Env)>;  // runs on the JS thread afterwards

  SerialWorker();
  ~SerialWorker();  // finishes queued jobs, then joins
  SerialWorker(const SerialWorker&) = delete;
  SerialWorker& operator=(const SerialWorker&) = delete;

  // Queues `work`; the Promise resolves with `resolve(env)` or rejects with the error `work`
  // (or `resolve`) threw. `keep_alive` values (the wrapped object, input buffers) stay referenced
  // until the Promise settles.
  Napi::Promise Submit(Napi::Env env, Work work, Resolve resolve,
                       const std::vector<Napi::Value>& keep_alive);

  // Jobs submitted and not yet settled on the JS thread.
  int InFlight() const { return in_flight_; }

 private:
  struct Job;
  void Loop();
  static void Settle(Napi::Env env, Napi::Function, Job* job);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  int in_flight_ = 0;  // touched on the JS thread only
  std::thread thread_;
};

}  // namespace sphereface

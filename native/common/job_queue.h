// The one executor of the addon's async calls: a native thread that runs jobs in submission order
// and settles each job's Promise on the JS thread through a thread-safe function, keeping the
// error's kind (common/errors.h).
//
// Why not Napi::AsyncWorker: training steps take seconds, and libuv's pool has 4 threads shared
// with fs, dns and zlib; a few models stepping at once would stall the whole process. A queue per
// model also serialises that model's calls for free: overlapping calls queue, never race.
// Module-level functions (the loss) share one queue per environment: Shared().
//
// Exit: a thread still inside libtorch while the process destroys libtorch's and oneDNN's static
// objects crashes it. So every queue of an environment is stopped (the running job finishes, the
// queued ones are dropped, the thread is joined) by an environment cleanup hook (worker_threads
// terminating, the main thread's loop ending) and by StopAll, which lib/native.ts calls on process
// 'exit': process.exit(), an uncaught exception and an unhandled rejection emit it, and run no
// cleanup hook.
#pragma once

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sphereface {

class JobQueue {
 public:
  using Work = std::function<void()>;                     // runs on the queue's thread
  using Resolve = std::function<Napi::Value(Napi::Env)>;  // runs on the JS thread afterwards

  explicit JobQueue(Napi::Env env);
  ~JobQueue();  // Stop()
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;

  // Queues `work`; the Promise resolves with `resolve(env)` or rejects with the error `work` (or
  // `resolve`) threw, of its kind. `keep_alive` values (the wrapped object, input buffers) stay
  // referenced until the Promise settles. Once the queue is stopped the Promise rejects at once.
  Napi::Promise Submit(Napi::Env env, Work work, Resolve resolve,
                       const std::vector<Napi::Value>& keep_alive = {});

  // Jobs submitted and not yet settled on the JS thread.
  int InFlight() const { return in_flight_; }

  // JS thread. Throws, naming the owner ("model", "process group"), while jobs are in flight:
  // an object's dispose() must not free what its running jobs still use.
  void CheckIdleForDispose(Napi::Env env, const char* owner) const;

  // JS thread. Refuses new jobs, drops the queued ones (their Promises never settle), waits for
  // the running one and joins the thread. Idempotent.
  void Stop();

  // The queue module-level functions share in this environment, started on first use.
  static JobQueue& Shared(Napi::Env env);
  // Stops every queue of this environment, and the ones created in it afterwards.
  static void StopAll(napi_env env);

 private:
  struct Job;
  void Loop();
  static void CallJs(napi_env env, napi_value, void* context, void* data);
  void Settle(Napi::Env env, Job* job);

  napi_env env_;
  napi_threadsafe_function done_ = nullptr;  // referenced only while jobs are in flight
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  bool stopping_ = false;  // under mutex_
  bool stopped_ = false;   // JS thread only
  int in_flight_ = 0;      // JS thread only
  std::thread thread_;
};

}  // namespace sphereface

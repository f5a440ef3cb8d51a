#include "dist/process_group.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#ifdef SPHEREFACE_WITH_GLOO
#include <c10/util/Logging.h>
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SPHEREFACE_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace sphereface {

std::vector<std::string> DistributedBackends() {
  std::vector<std::string> backends;
#ifdef SPHEREFACE_WITH_GLOO
  backends.push_back("gloo");
#endif
#ifdef SPHEREFACE_WITH_NCCL
  backends.push_back("nccl");
#endif
  return backends;
}

#ifndef SPHEREFACE_WITH_GLOO

std::shared_ptr<DistributedGroup> DistributedGroup::Join(const GroupConfig&,
                                                         std::shared_ptr<const LostRanks>) {
  TORCH_CHECK(false,
              "this build of sphereface has no distributed backend: it was compiled without "
              "Gloo's headers (Debian: apt-get install libgloo-dev, then npm run build:native)");
}

#else

namespace {

// c10d's collectives live on ProcessGroup in libtorch 1.x and on Backend since 2.0.
#if TORCH_VERSION_MAJOR >= 2
using Collectives = c10d::Backend;
#else
using Collectives = c10d::ProcessGroup;
#endif

using Clock = std::chrono::steady_clock;
using Milliseconds = std::chrono::milliseconds;

constexpr Milliseconds kHeartbeatEvery{500};
// How often a wait looks at the store, and how long one Work::wait blocks between looks at the
// abort flag.
constexpr Milliseconds kPollEvery{10};
constexpr Milliseconds kWorkSlice{100};
// A rank counts as lost after this much silence: long enough for a loaded machine to schedule a
// heartbeat, short enough to fail well inside the default timeout.
constexpr Milliseconds kLongestSilence{30000};
constexpr Milliseconds kShortestSilence{2000};

const std::string kKeys = "sphereface/";

// A flag key's value. Typed: libtorch 2.x adds a `Store::set` for strings, which makes `{1}`
// ambiguous.
const std::vector<uint8_t> kFlag{1};

// How many reports of lost ranks the store holds (each under Key("lost", rank)): one read tells a
// wait whether to look further.
const std::string kLostReports = kKeys + "lost-reports";

std::string Key(const std::string& what, int rank) {
  return kKeys + what + "/" + std::to_string(rank);
}

std::string RankList(const std::vector<int>& ranks) {
  std::ostringstream out;
  out << (ranks.size() == 1 ? "rank " : "ranks ");
  for (size_t i = 0; i < ranks.size(); ++i) out << (i ? ", " : "") << ranks[i];
  return out.str();
}

std::string Seconds(Milliseconds ms) {
  std::ostringstream out;
  out << ms.count() / 1000.0 << " s";
  return out.str();
}

// The first line of an exception's message (c10::Error appends a C++ backtrace).
std::string Reason(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  std::string message = c10_error ? c10_error->msg() : error.what();
  const auto newline = message.find('\n');
  return newline == std::string::npos ? message : message.substr(0, newline);
}

// Raised when the store cannot be reached: rank 0, which hosts it, has gone.
struct StoreLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A thread with its own store connection that adds 1 to this rank's counter every beat.
class Heartbeat {
 public:
  Heartbeat(c10::intrusive_ptr<c10d::Store> store, int rank)
      : store_(std::move(store)), key_(Key("heartbeat", rank)) {
    store_->add(key_, 1);  // the first beat before anyone looks
    thread_ = std::thread([this] { Loop(); });
  }
  ~Heartbeat() { Stop(); }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, kHeartbeatEvery, [this] { return stopping_; })) {
      lock.unlock();
      try {
        store_->add(key_, 1);
      } catch (const std::exception&) {
        // The store (rank 0) is gone: the next collective or wait reports it.
        lock.lock();
        return;
      }
      lock.lock();
    }
  }

  c10::intrusive_ptr<c10d::Store> store_;
  std::string key_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Which of `ranks` have beaten their heartbeat since the watch began.
class PulseWatch {
 public:
  PulseWatch(c10d::Store& store, std::vector<int> ranks)
      : store_(&store), ranks_(std::move(ranks)) {
    for (int rank : ranks_) first_.push_back(Read(rank));
    moved_.assign(ranks_.size(), false);
    start_ = Clock::now();
  }

  void Poll() {
    for (size_t i = 0; i < ranks_.size(); ++i) {
      if (!moved_[i] && Read(ranks_[i]) != first_[i]) moved_[i] = true;
    }
  }

  // Ranks among `among` that have not beaten since the watch began.
  std::vector<int> Silent(const std::vector<int>& among) const {
    std::vector<int> silent;
    for (size_t i = 0; i < ranks_.size(); ++i) {
      if (!moved_[i] && std::count(among.begin(), among.end(), ranks_[i])) {
        silent.push_back(ranks_[i]);
      }
    }
    return silent;
  }

  Milliseconds Elapsed() const {
    return std::chrono::duration_cast<Milliseconds>(Clock::now() - start_);
  }

 private:
  int64_t Read(int rank) {
    try {
      return store_->add(Key("heartbeat", rank), 0);  // reads without blocking
    } catch (const std::exception& error) {
      throw StoreLost(Reason(error));
    }
  }

  c10d::Store* store_;
  std::vector<int> ranks_;
  std::vector<int64_t> first_;
  std::vector<bool> moved_;
  Clock::time_point start_;
};

struct GlooPending : PendingReduce {
  c10::intrusive_ptr<c10d::Work> work;
};

class C10dGroup : public DistributedGroup {
 public:
  C10dGroup(const GroupConfig& config, c10::intrusive_ptr<c10d::Store> store,
            std::unique_ptr<Heartbeat> heartbeat, std::shared_ptr<const LostRanks> lost)
      : config_(config),
        timeout_(config.timeout_ms),
        silence_(std::clamp(timeout_, kShortestSilence, kLongestSilence)),
        store_(std::move(store)),
        heartbeat_(std::move(heartbeat)),
        lost_(std::move(lost)) {
    for (int rank = 0; rank < config_.world_size; ++rank) {
      if (rank != config_.rank) others_.push_back(rank);
    }
  }

  ~C10dGroup() override {
    Abort();
    // Gloo's destructor waits for a collective still running (one whose peer is gone, given up
    // on by Finish) until the group's timeout: it waits on a thread of its own, not the caller's
    // (the JS thread, disposing).
    if (collectives_)
      std::thread([collectives = std::move(collectives_)]() mutable {
        collectives.reset();
      }).detach();
  }

  // Waits until every rank has announced itself, then builds the backend's connections.
  void Connect() {
    try {
      store_->set(Key("arrived", config_.rank), kFlag);
      std::vector<int> missing = others_;
      const auto deadline = Clock::now() + timeout_;
      for (;;) {
        missing = Absent("arrived", missing);
        if (missing.empty()) break;
        ThrowIfReported(missing, "before it arrived at the rendezvous");
        if (Clock::now() >= deadline) {
          TORCH_CHECK(false, Where(), RankList(missing), " did not arrive within ",
                      Seconds(timeout_), " (WORLD_SIZE=", config_.world_size, ", rendezvous at ",
                      Address(), ")");
        }
        Pause();
      }
    } catch (const StoreLost& error) {
      throw StoreLostError(error);
    }
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(kKeys + config_.backend, store_);
    try {
#ifdef SPHEREFACE_WITH_NCCL
      if (config_.backend == "nccl") {
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = timeout_;
        collectives_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, config_.rank,
                                                                   config_.world_size, options);
        return;
      }
#endif
      auto options = c10d::ProcessGroupGloo::Options::create(timeout_);
      options->devices.push_back(GlooDevice());
      collectives_ = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, config_.rank,
                                                                 config_.world_size, options);
    } catch (const std::exception& error) {
      Fail("connecting to the other ranks", error);
    }
  }

  int rank() const override { return config_.rank; }
  int world_size() const override { return config_.world_size; }
  std::string backend() const override { return config_.backend; }

  void Broadcast(std::vector<torch::Tensor> tensors, int root) override {
    torch::NoGradGuard no_grad;
    for (auto& tensor : tensors) {
      // The backends move dense bytes: send a contiguous copy where the layout differs
      // (channels-last weights) and copy the result back.
      torch::Tensor dense = tensor.contiguous();
      std::vector<at::Tensor> one{dense};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      Finish(Launch([&] { return collectives_->broadcast(one, options); }, "a broadcast"),
             "the broadcast of rank 0's weights");
      if (!dense.is_same(tensor)) tensor.copy_(dense);
    }
  }

  void AllReduce(torch::Tensor tensor, ReduceKind kind) override {
    // NCCL reduces CUDA tensors only: small CPU values (the Trainer's flags) travel through one.
    if (config_.backend == "nccl" && !tensor.is_cuda()) {
      torch::Tensor on_device = tensor.to(torch::kCUDA);
      AllReduce(on_device, kind);
      tensor.copy_(on_device);
      return;
    }
    std::vector<at::Tensor> one{tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = kind == ReduceKind::kMax ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
    Finish(Launch([&] { return collectives_->allreduce(one, options); }, "an all-reduce"),
           "an all-reduce");
  }

  std::unique_ptr<PendingReduce> StartAllReduce(torch::Tensor tensor) override {
    auto pending = std::make_unique<GlooPending>();
    std::vector<at::Tensor> one{tensor};
    pending->work = Launch([&] { return collectives_->allreduce(one); }, "an all-reduce");
    return pending;
  }

  void Wait(PendingReduce& pending) override {
    Finish(static_cast<GlooPending&>(pending).work, "the gradient all-reduce");
  }

  void Barrier() override {
    const int round = barriers_++;
    const std::string name = "barrier/" + std::to_string(round);
    try {
      store_->set(Key(name, config_.rank), kFlag);
    } catch (const std::exception& error) {
      throw StoreLostError(error);
    }
    WaitForKeys(name, "a barrier");
  }

  void Abort() override {
    aborted_ = true;
    if (heartbeat_) heartbeat_->Stop();
  }

  void Leave() override {
    if (left_) return;
    left_ = true;
    if (config_.rank == 0) return WaitForKeys("left", "the end of the run");
    try {
      store_->set(Key("left", config_.rank), kFlag);
    } catch (const std::exception&) {
      // Rank 0 has gone already, which is all that leaving waits for.
    }
  }

  std::string Address() const {
    return config_.master_addr + ":" + std::to_string(config_.master_port);
  }

 private:
  std::string Where() const { return "rank " + std::to_string(config_.rank) + ": "; }

  void CheckAborted() const {
    TORCH_CHECK(!aborted_, Where(), "the distributed group was closed (the process is exiting)");
  }

  void Pause() const {
    CheckAborted();
    std::this_thread::sleep_for(kPollEvery);
  }

  // The ranks among `ranks` whose key `name/<rank>` is not in the store yet.
  std::vector<int> Absent(const std::string& name, const std::vector<int>& ranks) {
    std::vector<int> absent;
    for (int rank : ranks) {
      bool present;
      try {
        present = store_->check({Key(name, rank)});
      } catch (const std::exception& error) {
        throw StoreLost(Reason(error));
      }
      if (!present) absent.push_back(rank);
    }
    return absent;
  }

  // Waits until every other rank has set `name/<rank>`, for as long as those missing are alive.
  void WaitForKeys(const std::string& name, const std::string& what) {
    std::vector<int> missing = others_;
    try {
      PulseWatch watch(*store_, others_);
      for (;;) {
        missing = Absent(name, missing);
        if (missing.empty()) return;
        ThrowIfReported(missing, "while waiting for it at ", what);
        watch.Poll();
        if (watch.Elapsed() >= silence_) {
          auto silent = watch.Silent(missing);
          TORCH_CHECK(silent.empty(), Where(), "lost ", RankList(silent), ": no heartbeat for ",
                      Seconds(silence_), " while waiting for it at ", what);
          watch = PulseWatch(*store_, others_);  // alive: keep waiting, and watch afresh
        }
        Pause();
      }
    } catch (const StoreLost& error) {
      throw StoreLostError(error);
    }
  }

  // Throws naming a rank among `among` that was reported lost; `when` (and `what`) say what this
  // rank was doing. The message is built only then: waits call this at every poll.
  void ThrowIfReported(const std::vector<int>& among, const char* when,
                       const std::string& what = "") {
    const auto lost = Reported();
    if (lost && std::count(among.begin(), among.end(), lost->rank)) {
      TORCH_CHECK(false, Where(), "lost rank ", lost->rank, " (", lost->reason, ") ", when, what);
    }
  }

  // A rank reported lost: here (lost_, from this machine's launcher), else by a rank elsewhere
  // through the store. A report here is passed on through the store, once.
  std::optional<LostRanks::Lost> Reported() {
    auto here = lost_ ? lost_->First() : std::nullopt;
    if (here && here->rank != config_.rank && here->rank < config_.world_size) {
      Publish(*here);
      return here;
    }
    try {
      if (store_->add(kLostReports, 0) == 0) return std::nullopt;
      for (int rank : others_) {
        const std::string key = Key("lost", rank);
        if (!store_->check({key})) continue;
        const std::vector<uint8_t> reason = store_->get(key);
        return LostRanks::Lost{rank, std::string(reason.begin(), reason.end())};
      }
    } catch (const std::exception&) {
      // The store is gone: the wait that asked finds that out itself (rank 0 lost).
    }
    return std::nullopt;
  }

  void Publish(const LostRanks::Lost& lost) {
    if (published_) return;
    published_ = true;
    try {
      store_->set(Key("lost", lost.rank),
                  std::vector<uint8_t>(lost.reason.begin(), lost.reason.end()));
      store_->add(kLostReports, 1);
    } catch (const std::exception&) {
      // The store is gone (rank 0): every rank finds that out for itself.
    }
  }

  std::runtime_error StoreLostError(const std::exception& error) const {
    return std::runtime_error(Where() + "lost rank 0: the rendezvous store it hosts at " +
                              Address() + " is unreachable (" + Reason(error) + ")");
  }

  template <typename Start>
  c10::intrusive_ptr<c10d::Work> Launch(Start start, const char* what) {
    CheckAborted();
    try {
      return start();
    } catch (const std::exception& error) {
      Fail(what, error);
    }
  }

  // Waits for `work` in slices (so Abort() is noticed), then names the lost rank if it failed.
  void Finish(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    for (;;) {
      try {
        if (work->wait(kWorkSlice)) return;
        TORCH_CHECK(false, Where(), what, " was aborted");
      } catch (const std::exception&) {
        // The slice ran out (c10d throws "Operation timed out!"), or the work failed; it may also
        // have completed just after the slice ran out. Once completed, its own wait says which.
        if (work->isCompleted()) break;
        CheckAborted();  // still running: keep waiting unless closing or a rank is gone
        ThrowIfReported(others_, "during ", what);
      }
    }
    try {
      work->wait();
    } catch (const std::exception& error) {
      Fail(what, error);
    }
  }

  // Turns a failed collective into an error naming the rank lost: the other ranks' heartbeats
  // are watched until each has beaten or `silence_` has passed.
  [[noreturn]] void Fail(const std::string& what, const std::exception& error) {
    const std::string reason = Reason(error);
    std::vector<int> silent;
    try {
      PulseWatch watch(*store_, others_);
      for (;;) {
        ThrowIfReported(others_, "during ", what);
        watch.Poll();
        silent = watch.Silent(others_);
        if (silent.empty() || watch.Elapsed() >= silence_ || aborted_) break;
        std::this_thread::sleep_for(kPollEvery * 10);
      }
    } catch (const StoreLost& lost) {
      throw StoreLostError(lost);
    }
    if (silent.empty()) {
      TORCH_CHECK(false, Where(), what, " failed while every rank was alive: ", reason);
    }
    TORCH_CHECK(false, Where(), "lost ", RankList(silent), ": no heartbeat for ", Seconds(silence_),
                " after ", what, " failed (", reason, ")");
  }

  // Gloo's transport: the interface GLOO_SOCKET_IFNAME names (as in PyTorch), the loopback
  // address for a loopback rendezvous, else the address this machine's hostname resolves to.
  std::shared_ptr< ::gloo::transport::Device> GlooDevice() const {
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    if (interface != nullptr && *interface != '\0') {
      return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
    }
    const std::string& addr = config_.master_addr;
    if (addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1") {
      return c10d::ProcessGroupGloo::createDeviceForHostname(addr == "::1" ? addr : "127.0.0.1");
    }
    return c10d::ProcessGroupGloo::createDefaultDevice();
  }

  GroupConfig config_;
  Milliseconds timeout_;
  Milliseconds silence_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::unique_ptr<Heartbeat> heartbeat_;
  std::shared_ptr<const LostRanks> lost_;
  bool published_ = false;
  c10::intrusive_ptr<Collectives> collectives_;
  std::vector<int> others_;
  std::atomic<bool> aborted_{false};
  bool left_ = false;
  int barriers_ = 0;
};

// c10d logs a failed connect or listen on stderr (C10D_ERROR) and then throws the same words,
// which reach the caller in the error; the log is quieted meanwhile. Its threshold, c10's
// caffe2_log_level, is process-wide: the first of overlapping connects saves it, the last
// restores it.
class QuietC10dLog {
 public:
  QuietC10dLog() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (depth_++ == 0) {
      saved_ = FLAGS_caffe2_log_level;
      FLAGS_caffe2_log_level = kFatalOnly;
    }
  }
  ~QuietC10dLog() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--depth_ == 0) FLAGS_caffe2_log_level = saved_;
  }
  QuietC10dLog(const QuietC10dLog&) = delete;
  QuietC10dLog& operator=(const QuietC10dLog&) = delete;

 private:
  static constexpr int kFatalOnly = 3;  // glog's and c10's FATAL
  static inline std::mutex mutex_;
  static inline int depth_ = 0;
  static inline int saved_ = 0;
};

c10::intrusive_ptr<c10d::Store> ConnectStore(const GroupConfig& config, bool host) {
  QuietC10dLog quiet;
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(config.master_port);
  options.isServer = host;
  options.numWorkers = static_cast<size_t>(config.world_size);
  options.waitWorkers = false;  // arrival is checked per rank, to name the missing ones
  options.timeout = Milliseconds(config.timeout_ms);
  return c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
}

}  // namespace

std::shared_ptr<DistributedGroup> DistributedGroup::Join(const GroupConfig& config,
                                                         std::shared_ptr<const LostRanks> lost) {
  TORCH_CHECK_VALUE(config.world_size >= 1, "WORLD_SIZE must be at least 1, got ",
                    config.world_size);
  TORCH_CHECK_VALUE(config.rank >= 0 && config.rank < config.world_size, "RANK must be in 0..",
                    config.world_size - 1, " (WORLD_SIZE ", config.world_size, "), got ",
                    config.rank);
  TORCH_CHECK_VALUE(config.master_port >= 1 && config.master_port <= 65535,
                    "MASTER_PORT must be in 1..65535, got ", config.master_port);
  TORCH_CHECK_VALUE(!config.master_addr.empty(), "MASTER_ADDR is empty");
  TORCH_CHECK_VALUE(config.timeout_ms > 0, "the timeout must be positive, got ", config.timeout_ms,
                    " ms");
  GroupConfig resolved = config;
  if (resolved.backend == "auto") {
    const auto backends = DistributedBackends();
    const bool nccl = std::count(backends.begin(), backends.end(), "nccl") > 0;
    resolved.backend = nccl && torch::cuda::is_available() ? "nccl" : "gloo";
  }
  const auto backends = DistributedBackends();
  TORCH_CHECK_VALUE(std::count(backends.begin(), backends.end(), resolved.backend) > 0,
                    "distributed backend '", resolved.backend,
                    "' is not in this build (it has: gloo", backends.size() > 1 ? ", nccl" : "",
                    ")");
  const std::string address = config.master_addr + ":" + std::to_string(config.master_port);
  const std::string where = "rank " + std::to_string(config.rank) + ": ";
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = ConnectStore(resolved, config.rank == 0);
  } catch (const std::exception& error) {
    TORCH_CHECK(config.rank != 0, where, "could not host the rendezvous store at ", address, " (",
                Reason(error), "); is MASTER_PORT in use by another run?");
    TORCH_CHECK(false, where, "could not reach the rendezvous store at ", address, " within ",
                Seconds(Milliseconds(config.timeout_ms)), ": rank 0 did not arrive (",
                Reason(error), ")");
  }
  std::unique_ptr<Heartbeat> heartbeat;
  try {
    // Two processes with one RANK would each wait for a peer that never comes: refuse now.
    TORCH_CHECK(store->add(Key("claimed", config.rank), 1) == 1, where,
                "another process already joined as RANK ", config.rank, " at ", address);
    heartbeat = std::make_unique<Heartbeat>(ConnectStore(resolved, false), config.rank);
  } catch (const c10::Error&) {
    throw;
  } catch (const std::exception& error) {
    TORCH_CHECK(false, where, "lost rank 0: the rendezvous store at ", address,
                " became unreachable (", Reason(error), ")");
  }
  auto group = std::make_shared<C10dGroup>(resolved, store, std::move(heartbeat), std::move(lost));
  group->Connect();
  return group;
}

#endif  // SPHEREFACE_WITH_GLOO

}  // namespace sphereface

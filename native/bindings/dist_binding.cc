// NativeProcessGroup: this process's membership of a distributed run (dist/process_group.h),
// with its own job queue (a thread), as a model has.
//   new NativeProcessGroup()                                 [sync]  an empty handle
//   join(config) -> Promise<{ rank, worldSize, backend }>    [async] the rendezvous; config:
//     { rank, worldSize, masterAddr, masterPort, timeoutMs, backend }, every field required
//   allReduce(values: Float64Array, op: 'sum' | 'max') -> Promise<Float64Array>  [async]
//   barrier() -> Promise<void>   [async] returns once every rank has called it
//   leave() -> Promise<void>     [async] the end of the run (rank 0 waits for the others)
//   abort()                      [sync]  stops the heartbeat; waits in progress or to come throw
//   reportLost(rank, reason)     [sync]  rank `rank` is gone (its launcher saw it exit, `reason`
//     says how): waits for it fail now naming it, before or after the join
//   inFlight() -> number; dispose() [sync]; dispose throws while calls run
// info().distributedBackends (info_binding.cc) says which backends this build has.
// Models join a group through their own joinGroup (model_binding.cc), on their queue; JS awaits
// each collective before it starts the next, so every rank issues them in the same order.
#include <napi.h>

#include <memory>

#include "bindings/bindings.h"
#include "bindings/options.h"
#include "common/errors.h"
#include "common/job_queue.h"
#include "common/typed_arrays.h"
#include "dist/process_group.h"

namespace sphereface {

namespace {

// Marks the objects this file wraps, so a foreign object is refused where a group is expected.
constexpr napi_type_tag kGroupTag = {0x5f1e7a3c9d2b4e61ULL, 0x8c04b7d2a19e63f5ULL};

class NativeProcessGroup : public Napi::ObjectWrap<NativeProcessGroup> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeProcessGroup",
                       {InstanceMethod<&NativeProcessGroup::Join>("join"),
                        InstanceMethod<&NativeProcessGroup::AllReduce>("allReduce"),
                        InstanceMethod<&NativeProcessGroup::Barrier>("barrier"),
                        InstanceMethod<&NativeProcessGroup::Leave>("leave"),
                        InstanceMethod<&NativeProcessGroup::Abort>("abort"),
                        InstanceMethod<&NativeProcessGroup::ReportLost>("reportLost"),
                        InstanceMethod<&NativeProcessGroup::InFlight>("inFlight"),
                        InstanceMethod<&NativeProcessGroup::Dispose>("dispose")});
  }

  explicit NativeProcessGroup(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeProcessGroup>(info), queue_(std::make_unique<JobQueue>(info.Env())) {
    napi_type_tag_object(info.Env(), info.This(), &kGroupTag);
  }

  ~NativeProcessGroup() override { Release(); }

  std::shared_ptr<DistributedGroup> group(Napi::Env env) {
    CheckUsable(env);
    return group_;
  }

 private:
  void Release() {
    if (disposed_) return;
    disposed_ = true;
    if (group_) group_->Abort();  // a job still waiting (the process exiting) gives up
    queue_.reset();
    group_.reset();
  }

  void CheckUsable(Napi::Env env, bool need_group = true) {
    if (disposed_) throw Napi::Error::New(env, "process group is disposed");
    if (need_group && !group_) throw Napi::Error::New(env, "process group has not joined");
  }

  Napi::Value Join(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env, false);
    if (group_ || joining_) {
      throw Napi::Error::New(env, "process group has joined (or tried to) already");
    }
    Napi::Object options = info[0].As<Napi::Object>();
    GroupConfig config;
    config.rank = static_cast<int>(RequireNumber(options, "rank"));
    config.world_size = static_cast<int>(RequireNumber(options, "worldSize"));
    config.master_addr = RequireString(options, "masterAddr");
    config.master_port = static_cast<int>(RequireNumber(options, "masterPort"));
    config.timeout_ms = static_cast<int64_t>(RequireNumber(options, "timeoutMs"));
    config.backend = RequireString(options, "backend");
    joining_ = true;
    auto joined = std::make_shared<std::shared_ptr<DistributedGroup>>();
    std::shared_ptr<const LostRanks> lost = lost_;
    return queue_->Submit(
        env, [config, lost, joined] { *joined = DistributedGroup::Join(config, lost); },
        [this, joined](Napi::Env env) -> Napi::Value {
          joining_ = false;
          group_ = *joined;
          Napi::Object out = Napi::Object::New(env);
          out.Set("rank", group_->rank());
          out.Set("worldSize", group_->world_size());
          out.Set("backend", group_->backend());
          return out;
        },
        {info.This()});
  }

  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    Napi::Float64Array values = ExpectFloat64Array(info[0], "values");
    const std::string op = info[1].As<Napi::String>().Utf8Value();
    if (op != "sum" && op != "max") {
      throw Napi::TypeError::New(env, "Expected 'sum' or 'max' for op but received '" + op + "'");
    }
    auto tensor = std::make_shared<torch::Tensor>(
        CopyToTensor(values, {static_cast<int64_t>(values.ElementLength())}));
    auto group = group_;
    const ReduceKind kind = op == "max" ? ReduceKind::kMax : ReduceKind::kSum;
    return queue_->Submit(
        env, [group, tensor, kind] { group->AllReduce(*tensor, kind); },
        [tensor](Napi::Env env) -> Napi::Value { return ToFloat64Array(env, *tensor); },
        {info.This()});
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    CheckUsable(info.Env());
    auto group = group_;
    return queue_->Submit(
        info.Env(), [group] { group->Barrier(); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, {info.This()});
  }

  Napi::Value Leave(const Napi::CallbackInfo& info) {
    CheckUsable(info.Env());
    auto group = group_;
    return queue_->Submit(
        info.Env(), [group] { group->Leave(); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, {info.This()});
  }

  void Abort(const Napi::CallbackInfo& info) {
    if (group_) group_->Abort();
  }

  void ReportLost(const Napi::CallbackInfo& info) {
    const int rank = info[0].As<Napi::Number>().Int32Value();
    lost_->Report(rank, info[1].As<Napi::String>().Utf8Value());
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), disposed_ ? 0 : queue_->InFlight());
  }

  void Dispose(const Napi::CallbackInfo& info) {
    if (disposed_) return;
    queue_->CheckIdleForDispose(info.Env(), "process group");
    Release();
  }

  std::unique_ptr<JobQueue> queue_;
  std::shared_ptr<DistributedGroup> group_;
  std::shared_ptr<LostRanks> lost_ = std::make_shared<LostRanks>();
  bool joining_ = false;
  bool disposed_ = false;
};

}  // namespace

std::shared_ptr<DistributedGroup> GroupOfHandle(Napi::Env env, const Napi::Value& value) {
  bool tagged = false;
  if (value.IsObject()) napi_check_object_type_tag(env, value, &kGroupTag, &tagged);
  if (!tagged) throw Napi::TypeError::New(env, "Expected a NativeProcessGroup for group");
  return Napi::ObjectWrap<NativeProcessGroup>::Unwrap(value.As<Napi::Object>())->group(env);
}

void InitDist(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeProcessGroup", NativeProcessGroup::Define(env));
}

}  // namespace sphereface

// NativeModel: the wrapped training state (native/train/) with its own job queue (a thread).
//   new NativeModel()                                   [sync]  an empty handle
//   initialise(config) -> Promise<description>          [async] builds and initialises the net
//   load(path, device, expectedArch) -> Promise<description> [async] reads a model file; the
//     description has the file's `threshold` {value, protocol} when it stores one
//   describe() -> description                           [sync]
//   parameterCount(withHead), macsPerImage()            [sync]
//   embed(images, n, flip | null) -> Promise<Float32Array>       [async]
//   trainStep(images, labels, n, flip | null, options) -> Promise<result> [async]; the result
//     has per-phase `timings` only when options.timings asked for them
//   joinGroup(group, bucketBytes, overlap) -> Promise<void> [async] joins a NativeProcessGroup's
//     run: rank 0's weights replace these, and later steps average the gradients over the ranks
//   save(path, weightsOnly, threshold | null) -> Promise<void>  [async] threshold {value, protocol}
//   exportStateDict(path) -> Promise<void>              [async] a PyTorch state_dict file
//   weightShapes() -> [{name, shape}]                   [sync]  the weights, in layer order
//   setWeights(names, arrays, source) -> Promise<void>  [async] replaces those weights
//   inFlight() -> number; dispose()                     [sync]; dispose throws while calls run
//   liveModelCount() (module function)                  [sync] handles not yet disposed
// Every option is required (lib/models passes them all). Errors keep their kind when a call
// settles later: TypeError / RangeError for bad arguments (common/errors.h), Error otherwise.
// Inputs are copied into C++ vectors on the JS thread, so no JS memory is read off it. A
// model's async calls run one after another in call order on its queue (never raced).
#include <napi.h>

#include <atomic>
#include <cmath>
#include <memory>

#include "bindings/bindings.h"
#include "bindings/options.h"
#include "common/cpu_block_cache.h"
#include "common/job_queue.h"
#include "common/typed_arrays.h"
#include "train/model_file.h"
#include "train/state_dict_export.h"
#include "train/training_state.h"

namespace sphereface {

namespace {

std::atomic<int> live_models{0};

const char* KindName(MarginKind kind) {
  switch (kind) {
    case MarginKind::kSphere:
      return "sphere";
    case MarginKind::kCos:
      return "cos";
    case MarginKind::kArc:
      return "arc";
    case MarginKind::kSoftmax:
      return "softmax";
  }
  return "unknown";
}

torch::Device ResolveDevice(const std::string& choice) {
  const bool cuda = torch::cuda::is_available();
  if (choice == "cpu" || (choice == "auto" && !cuda)) return torch::kCPU;
  if (choice == "cuda" || choice == "auto") {
    TORCH_CHECK(cuda, "device 'cuda' was requested, but this libtorch has no CUDA support or no ",
                "GPU is visible; use device 'cpu' or 'auto'");
    return torch::Device(torch::kCUDA, 0);
  }
  TORCH_CHECK_TYPE(false, "device must be 'auto', 'cpu' or 'cuda', got '", choice, "'");
}

std::vector<uint8_t> CopyBytes(const Napi::Uint8Array& array) {
  return std::vector<uint8_t>(array.Data(), array.Data() + array.ElementLength());
}

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeModel",
                       {InstanceMethod<&NativeModel::Initialise>("initialise"),
                        InstanceMethod<&NativeModel::Load>("load"),
                        InstanceMethod<&NativeModel::Describe>("describe"),
                        InstanceMethod<&NativeModel::ParameterCount>("parameterCount"),
                        InstanceMethod<&NativeModel::MacsPerImage>("macsPerImage"),
                        InstanceMethod<&NativeModel::Embed>("embed"),
                        InstanceMethod<&NativeModel::TrainStep>("trainStep"),
                        InstanceMethod<&NativeModel::JoinGroup>("joinGroup"),
                        InstanceMethod<&NativeModel::Save>("save"),
                        InstanceMethod<&NativeModel::ExportStateDict>("exportStateDict"),
                        InstanceMethod<&NativeModel::WeightShapes>("weightShapes"),
                        InstanceMethod<&NativeModel::SetWeights>("setWeights"),
                        InstanceMethod<&NativeModel::InFlight>("inFlight"),
                        InstanceMethod<&NativeModel::Dispose>("dispose")});
  }

  explicit NativeModel(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeModel>(info), queue_(std::make_unique<JobQueue>(info.Env())) {
    ++live_models;
  }

  // The finalizer is the safety net for a model nobody disposed. No call can be in flight here:
  // each pins this object until it settles.
  ~NativeModel() override { Release(); }

 private:
  void Release() {
    if (disposed_) return;
    disposed_ = true;
    queue_.reset();  // joins the idle thread
    state_.reset();
    // The last model's memory leaves the CPU block cache with it.
    if (--live_models == 0) ReleaseCachedCpuBlocks();
  }

  void CheckUsable(Napi::Env env, bool need_state = true) {
    if (disposed_) throw Napi::Error::New(env, "model is disposed");
    if (need_state && !state_) throw Napi::Error::New(env, "model is not initialised");
  }

  // Builds the state on the worker, and installs it on the JS thread when the job settles.
  Napi::Value Submit(const Napi::CallbackInfo& info, std::function<LoadedModel()> build) {
    auto holder = std::make_shared<LoadedModel>();
    return queue_->Submit(
        info.Env(), [holder, build] { *holder = build(); },
        [this, holder](Napi::Env env) {
          state_ = std::shared_ptr<TrainingState>(std::move(holder->state));
          Napi::Object description = DescribeState(env);
          if (holder->threshold) {
            Napi::Object threshold = Napi::Object::New(env);
            threshold.Set("value", holder->threshold->value);
            threshold.Set("protocol", holder->threshold->protocol);
            description.Set("threshold", threshold);
          }
          return description;
        },
        {info.This()});
  }

  Napi::Value Initialise(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env, false);
    Napi::Object options = info[0].As<Napi::Object>();
    ModelConfig config;
    config.arch = RequireString(options, "arch");
    config.classes = static_cast<int64_t>(RequireNumber(options, "classes"));
    config.embedding_dim = static_cast<int64_t>(RequireNumber(options, "embeddingDim"));
    config.head = RequireMarginHead(RequireObject(options, "head"));
    config.normalisation.mean = RequireNumber(options, "mean");
    config.normalisation.std = RequireNumber(options, "std");
    const std::string device = RequireString(options, "device");
    const double seed_value = RequireNumber(options, "seed");
    if (!(seed_value >= 0 && seed_value <= 9007199254740991.0 &&
          seed_value == std::floor(seed_value))) {
      throw Napi::RangeError::New(env, "Expected an integer in 0..2^53-1 for seed");
    }
    const auto seed = static_cast<uint64_t>(seed_value);
    return Submit(info, [config, device, seed] {
      TORCH_CHECK_TYPE(IsArch(config.arch), "unknown arch '", config.arch, "'");
      return LoadedModel{std::make_unique<TrainingState>(config, ResolveDevice(device), seed), {}};
    });
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    CheckUsable(info.Env(), false);
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    const std::string device = info[1].As<Napi::String>().Utf8Value();
    const std::string expected_arch =
        info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    return Submit(info, [path, device, expected_arch] {
      return ReadModelFile(path, ResolveDevice(device), expected_arch);
    });
  }

  Napi::Object DescribeState(Napi::Env env) {
    const ModelConfig& config = state_->config();
    Napi::Object head = Napi::Object::New(env);
    head.Set("kind", KindName(config.head.kind));
    head.Set("m", config.head.m);
    head.Set("scale", config.head.scale);
    head.Set("lambda", config.head.lambda);
    head.Set("easyMargin", config.head.easy_margin);
    Napi::Object out = Napi::Object::New(env);
    out.Set("arch", config.arch);
    out.Set("classes", static_cast<double>(config.classes));
    out.Set("embeddingDim", static_cast<double>(config.embedding_dim));
    out.Set("head", head);
    out.Set("device", state_->device().is_cuda() ? "cuda" : "cpu");
    out.Set("mean", config.normalisation.mean);
    out.Set("std", config.normalisation.std);
    out.Set("steps", static_cast<double>(state_->steps()));
    return out;
  }

  Napi::Value Describe(const Napi::CallbackInfo& info) {
    CheckUsable(info.Env());
    return DescribeState(info.Env());
  }

  Napi::Value ParameterCount(const Napi::CallbackInfo& info) {
    CheckUsable(info.Env());
    return Napi::Number::New(info.Env(),
                             static_cast<double>(state_->ParameterCount(info[0].ToBoolean())));
  }

  Napi::Value MacsPerImage(const Napi::CallbackInfo& info) {
    CheckUsable(info.Env());
    return Napi::Number::New(info.Env(), static_cast<double>(state_->MacsPerImage()));
  }

  Napi::Value Embed(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    auto images =
        std::make_shared<std::vector<uint8_t>>(CopyBytes(ExpectUint8Array(info[0], "images")));
    const int64_t n = info[1].As<Napi::Number>().Int64Value();
    auto flip = std::make_shared<std::vector<uint8_t>>();
    if (!info[2].IsNull() && !info[2].IsUndefined())
      *flip = CopyBytes(ExpectUint8Array(info[2], "flip"));
    const InputSize size = InputSizeOf(state_->config().arch);
    if (n <= 0 || static_cast<int64_t>(images->size()) != n * size.height * size.width * 3 ||
        (!flip->empty() && static_cast<int64_t>(flip->size()) != n)) {
      throw Napi::RangeError::New(env, "images/flip lengths do not match n");
    }
    auto state = state_;
    auto out = std::make_shared<torch::Tensor>();
    return queue_->Submit(
        env,
        [state, images, n, flip, out] {
          *out = state->Embed(images->data(), n, flip->empty() ? nullptr : flip->data());
        },
        [out](Napi::Env env) -> Napi::Value { return ToFloat32Array(env, *out); }, {info.This()});
  }

  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    auto input = std::make_shared<StepInput>();
    input->images = CopyBytes(ExpectUint8Array(info[0], "images"));
    Napi::Int32Array labels = ExpectInt32Array(info[1], "labels");
    input->labels.assign(labels.Data(), labels.Data() + labels.ElementLength());
    input->n = info[2].As<Napi::Number>().Int64Value();
    if (!info[3].IsNull() && !info[3].IsUndefined())
      input->flip = CopyBytes(ExpectUint8Array(info[3], "flip"));
    Napi::Object options = info[4].As<Napi::Object>();
    input->sgd.lr = RequireNumber(options, "lr");
    input->sgd.momentum = RequireNumber(options, "momentum");
    input->sgd.weight_decay = RequireNumber(options, "weightDecay");
    input->sgd.nesterov = RequireBool(options, "nesterov");
    input->lambda = RequireNumber(options, "lambda");
    input->decay_all = RequireBool(options, "decayAll");
    input->timings = RequireBool(options, "timings");
    auto state = state_;
    auto result = std::make_shared<StepResult>();
    return queue_->Submit(
        env, [state, input, result] { *result = state->Step(*input); },
        [result, timed = input->timings](Napi::Env env) -> Napi::Value {
          Napi::Object out = Napi::Object::New(env);
          out.Set("loss", result->loss);
          out.Set("accuracy", result->accuracy);
          out.Set("updated", result->updated);
          out.Set("images", static_cast<double>(result->images));
          if (timed) {
            Napi::Object timings = Napi::Object::New(env);
            timings.Set("prepare", result->prepare_ms);
            timings.Set("forward", result->forward_ms);
            timings.Set("loss", result->loss_ms);
            timings.Set("backward", result->backward_ms);
            timings.Set("reduce", result->reduce_ms);
            timings.Set("optimiser", result->optimiser_ms);
            out.Set("timings", timings);
          }
          return out;
        },
        {info.This()});
  }

  Napi::Value JoinGroup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    std::shared_ptr<DistributedGroup> group = GroupOfHandle(env, info[0]);
    const auto bucket_bytes = static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue());
    const bool overlap = info[2].ToBoolean();
    auto state = state_;
    return queue_->Submit(
        env,
        [state, group, bucket_bytes, overlap] { state->JoinGroup(group, bucket_bytes, overlap); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, {info.This(), info[0]});
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    SaveOptions options;
    options.weights_only = info[1].ToBoolean();
    if (info[2].IsObject()) {
      Napi::Object threshold = info[2].As<Napi::Object>();
      options.threshold = VerificationThreshold{RequireNumber(threshold, "value"),
                                                RequireString(threshold, "protocol")};
    }
    auto state = state_;
    return queue_->Submit(
        env, [state, path, options] { WriteModelFile(path, *state, options); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, {info.This()});
  }

  Napi::Value ExportStateDict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto state = state_;
    return queue_->Submit(
        env, [state, path] { WriteStateDict(path, *state); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, {info.This()});
  }

  // Names and shapes only: read on the JS thread, as ParameterCount does.
  Napi::Value WeightShapes(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = state_->WeightShapes();
    Napi::Array out = Napi::Array::New(env, shapes.size());
    for (size_t i = 0; i < shapes.size(); ++i) {
      Napi::Array shape = Napi::Array::New(env, shapes[i].second.size());
      for (size_t d = 0; d < shapes[i].second.size(); ++d) {
        shape.Set(d, static_cast<double>(shapes[i].second[d]));
      }
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("name", shapes[i].first);
      entry.Set("shape", shape);
      out.Set(i, entry);
    }
    return out;
  }

  Napi::Value SetWeights(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    Napi::Array names = info[0].As<Napi::Array>();
    Napi::Array arrays = info[1].As<Napi::Array>();
    const std::string source = info[2].As<Napi::String>().Utf8Value();
    if (names.Length() != arrays.Length()) {
      throw Napi::RangeError::New(env, "setWeights: names and arrays differ in length");
    }
    // Read where they are, on the worker: a large model's weights copied here held the event
    // loop for most of a second. The arrays stay referenced until the call settles; the caller
    // (importStateDict) keeps them attached.
    auto weights = std::make_shared<std::vector<TrainingState::WeightValues>>();
    std::vector<Napi::Value> keep_alive{info.This()};
    for (uint32_t i = 0; i < names.Length(); ++i) {
      Napi::Value array = arrays.Get(i);
      if (!array.IsTypedArray() ||
          array.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(env, "setWeights: expected Float32Arrays");
      }
      Napi::Float32Array data = array.As<Napi::Float32Array>();
      weights->push_back({names.Get(i).As<Napi::String>().Utf8Value(), data.Data(),
                          static_cast<int64_t>(data.ElementLength())});
      keep_alive.push_back(array);
    }
    auto state = state_;
    return queue_->Submit(
        env, [state, weights, source] { state->SetWeights(*weights, source); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, keep_alive);
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), disposed_ ? 0 : queue_->InFlight());
  }

  void Dispose(const Napi::CallbackInfo& info) {
    if (disposed_) return;
    queue_->CheckIdleForDispose(info.Env(), "model");
    Release();
  }

  std::unique_ptr<JobQueue> queue_;
  std::shared_ptr<TrainingState> state_;
  bool disposed_ = false;
};

}  // namespace

void InitModel(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", NativeModel::Define(env));
  exports.Set("liveModelCount", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), live_models.load());
              }));
}

}  // namespace sphereface

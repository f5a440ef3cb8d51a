// NativeModel: the wrapped training state (native/train/) with its own serial worker thread.
//   new NativeModel()                                   [sync]  an empty handle
//   initialise(config) -> Promise<description>          [async] builds and initialises the net
//   load(path, device, expectedArch) -> Promise<description> [async] reads a model file
//   describe() -> description                           [sync]
//   parameterCount(withHead), macsPerImage()            [sync]
//   embed(images, n, flip | null) -> Promise<Float32Array>       [async]
//   trainStep(images, labels, n, flip | null, options) -> Promise<result> [async]
//   save(path) -> Promise<void>                         [async]
//   inFlight() -> number; dispose()                     [sync]; dispose throws while calls run
//   liveModelCount() (module function)                  [sync] handles not yet disposed
//   fusedSgdStep(param, grad, buffer, options) (module) [sync] the optimiser's update on plain
//     Float32Arrays (param and buffer updated in place), so tests can check it on its own
//   preluForTests(x, [n, c, h, w], slope, grad, channelsLast) (module) [sync] the nets' fused
//     PReLU forward and backward -> { y, gradX, gradSlope }, arrays in N x C x H x W order
//   conv3x3ForTests(x, [n, c, h, w], weight, k, grad, channelsLast) (module) [sync] the residual
//     units' 3x3 conv forward and backward -> { y, gradX, gradWeight, winograd }
//   stridedConvStackForTests(x, [n, c, h, w], layers [{ weight, bias }], grad, channelsLast,
//     wantGradX) (module) [sync] sphere-cnn4's conv + ReLU layers forward and backward
//     -> { y, gradX (or null), gradWeights, gradBiases, blocked }
// Inputs are copied into C++ vectors on the JS thread, so no JS memory is read off it. A
// model's async calls run one after another in call order on its worker (queued, never raced).
#include <napi.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <random>

#include "bindings/bindings.h"
#include "common/errors.h"
#include "common/typed_arrays.h"
#include "nets/prelu.h"
#include "nets/strided_conv_stack.h"
#include "nets/winograd_conv.h"
#include "train/fused_sgd.h"
#include "train/model_file.h"
#include "train/serial_worker.h"
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
  }
  return "unknown";
}

MarginHead ReadHead(const Napi::Object& object) {
  MarginHead head;
  const std::string kind = GetString(object, "kind", "");
  if (kind == "sphere") {
    head.kind = MarginKind::kSphere;
  } else if (kind == "cos") {
    head.kind = MarginKind::kCos;
  } else if (kind == "arc") {
    head.kind = MarginKind::kArc;
  } else {
    throw Napi::TypeError::New(object.Env(),
                               "head.kind must be 'sphere', 'cos' or 'arc', got '" + kind + "'");
  }
  head.m = GetNumber(object, "m", head.m);
  head.scale = GetNumber(object, "scale", head.scale);
  head.lambda = GetNumber(object, "lambda", 0);
  return head;
}

torch::Device ResolveDevice(const std::string& choice) {
  const bool cuda = torch::cuda::is_available();
  if (choice == "cpu" || (choice == "auto" && !cuda)) return torch::kCPU;
  if (choice == "cuda" || choice == "auto") {
    TORCH_CHECK(cuda, "device 'cuda' was requested, but this libtorch has no CUDA support or no ",
                "GPU is visible; use device 'cpu' or 'auto'");
    return torch::Device(torch::kCUDA, 0);
  }
  TORCH_CHECK(false, "device must be 'auto', 'cpu' or 'cuda', got '", choice, "'");
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
                        InstanceMethod<&NativeModel::Save>("save"),
                        InstanceMethod<&NativeModel::InFlight>("inFlight"),
                        InstanceMethod<&NativeModel::Dispose>("dispose")});
  }

  explicit NativeModel(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeModel>(info), worker_(std::make_unique<SerialWorker>()) {
    ++live_models;
  }

  // The finalizer is the safety net for a model nobody disposed. No call can be in flight here:
  // each pins this object until it settles.
  ~NativeModel() override { Release(); }

 private:
  void Release() {
    if (disposed_) return;
    disposed_ = true;
    worker_.reset();  // joins the idle thread
    state_.reset();
    --live_models;
  }

  void CheckUsable(Napi::Env env, bool need_state = true) {
    if (disposed_) throw Napi::Error::New(env, "model is disposed");
    if (need_state && !state_) throw Napi::Error::New(env, "model is not initialised");
  }

  // Builds the state on the worker, and installs it on the JS thread when the job settles.
  Napi::Value Submit(const Napi::CallbackInfo& info,
                     std::function<std::unique_ptr<TrainingState>()> build) {
    auto holder = std::make_shared<std::unique_ptr<TrainingState>>();
    return worker_->Submit(
        info.Env(), [holder, build] { *holder = build(); },
        [this, holder](Napi::Env env) {
          state_ = std::shared_ptr<TrainingState>(std::move(*holder));
          return DescribeState(env);
        },
        {info.This()});
  }

  Napi::Value Initialise(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env, false);
    Napi::Object options = info[0].As<Napi::Object>();
    ModelConfig config;
    config.arch = GetString(options, "arch", "");
    config.classes = static_cast<int64_t>(GetNumber(options, "classes", 0));
    config.head = ReadHead(options.Get("head").As<Napi::Object>());
    config.normalisation.mean = GetNumber(options, "mean", 127.5);
    config.normalisation.std = GetNumber(options, "std", 128);
    const std::string device = GetString(options, "device", "auto");
    const double seed_value = GetNumber(options, "seed", -1);
    const uint64_t seed = seed_value >= 0
                              ? static_cast<uint64_t>(seed_value)
                              : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    return Submit(info, [config, device, seed] {
      TORCH_CHECK(IsArch(config.arch), "unknown arch '", config.arch, "'");
      return std::make_unique<TrainingState>(config, ResolveDevice(device), seed);
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

  Napi::Value DescribeState(Napi::Env env) {
    const ModelConfig& config = state_->config();
    Napi::Object head = Napi::Object::New(env);
    head.Set("kind", KindName(config.head.kind));
    head.Set("m", config.head.m);
    head.Set("scale", config.head.scale);
    head.Set("lambda", config.head.lambda);
    Napi::Object out = Napi::Object::New(env);
    out.Set("arch", config.arch);
    out.Set("classes", static_cast<double>(config.classes));
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
    return worker_->Submit(
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
    input->sgd.lr = GetNumber(options, "lr", NAN);
    input->sgd.momentum = GetNumber(options, "momentum", 0.9);
    input->sgd.weight_decay = GetNumber(options, "weightDecay", 5e-4);
    input->sgd.nesterov = GetBool(options, "nesterov", false);
    input->lambda = GetNumber(options, "lambda", 0);
    input->decay_all = GetBool(options, "decayAll", false);
    input->timings = GetBool(options, "timings", false);
    auto state = state_;
    auto result = std::make_shared<StepResult>();
    return worker_->Submit(
        env, [state, input, result] { *result = state->Step(*input); },
        [result](Napi::Env env) -> Napi::Value {
          Napi::Object timings = Napi::Object::New(env);
          timings.Set("prepare", result->prepare_ms);
          timings.Set("forward", result->forward_ms);
          timings.Set("loss", result->loss_ms);
          timings.Set("backward", result->backward_ms);
          timings.Set("optimiser", result->optimiser_ms);
          Napi::Object out = Napi::Object::New(env);
          out.Set("loss", result->loss);
          out.Set("accuracy", result->accuracy);
          out.Set("updated", result->updated);
          out.Set("timings", timings);
          return out;
        },
        {info.This()});
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckUsable(env);
    const std::string path = info[0].As<Napi::String>().Utf8Value();
    auto state = state_;
    return worker_->Submit(
        env, [state, path] { WriteModelFile(path, *state); },
        [](Napi::Env env) -> Napi::Value { return env.Undefined(); }, {info.This()});
  }

  Napi::Value InFlight(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), disposed_ ? 0 : worker_->InFlight());
  }

  void Dispose(const Napi::CallbackInfo& info) {
    if (disposed_) return;
    const int running = worker_->InFlight();
    if (running > 0) {
      throw Napi::Error::New(info.Env(), "dispose() called while " + std::to_string(running) +
                                             " call(s) on this model are still running; await "
                                             "them first");
    }
    Release();
  }

  std::unique_ptr<SerialWorker> worker_;
  std::shared_ptr<TrainingState> state_;
  bool disposed_ = false;
};

// Small arrays only (tests): runs on the JS thread, writing the results back into the arrays.
Napi::Value FusedSgdStepBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array param = ExpectFloat32Array(info[0], "param");
  Napi::Float32Array grad = ExpectFloat32Array(info[1], "grad");
  Napi::Float32Array buffer = ExpectFloat32Array(info[2], "buffer");
  Napi::Object options = info[3].As<Napi::Object>();
  const int64_t n = static_cast<int64_t>(param.ElementLength());
  if (grad.ElementLength() != param.ElementLength() ||
      buffer.ElementLength() != param.ElementLength()) {
    throw Napi::RangeError::New(env, "param, grad and buffer lengths differ");
  }
  std::string error = CaptureError([&] {
    torch::Tensor p = CopyToTensor(param, {n}), g = CopyToTensor(grad, {n}),
                  b = CopyToTensor(buffer, {n});
    FusedSgdStep(p, g, b, GetNumber(options, "lr", 0.1), GetNumber(options, "momentum", 0.9),
                 GetNumber(options, "weightDecay", 0), GetBool(options, "nesterov", false));
    std::memcpy(param.Data(), p.data_ptr<float>(), n * sizeof(float));
    std::memcpy(buffer.Data(), b.data_ptr<float>(), n * sizeof(float));
  });
  if (!error.empty()) throw Napi::Error::New(env, error);
  return env.Undefined();
}

std::vector<int64_t> ShapeArgument(const Napi::Value& value) {
  Napi::Array dims = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    shape.push_back(dims.Get(i).As<Napi::Number>().Int64Value());
  }
  return shape;
}

Napi::Value PreluForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = ExpectFloat32Array(info[0], "x");
  const std::vector<int64_t> shape = ShapeArgument(info[1]);
  Napi::Float32Array slope = ExpectFloat32Array(info[2], "slope");
  Napi::Float32Array grad = ExpectFloat32Array(info[3], "grad");
  const bool channels_last = info[4].ToBoolean();
  Napi::Object result = Napi::Object::New(env);
  std::string error = CaptureError([&] {
    const auto format =
        channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    torch::Tensor input = CopyToTensor(x, shape).contiguous(format).requires_grad_(true);
    torch::Tensor slopes =
        CopyToTensor(slope, {static_cast<int64_t>(slope.ElementLength())}).requires_grad_(true);
    torch::Tensor y = Prelu(input, slopes);
    y.backward(CopyToTensor(grad, shape).contiguous(format));
    result.Set("y", ToFloat32Array(env, y));
    result.Set("gradX", ToFloat32Array(env, input.grad()));
    result.Set("gradSlope", ToFloat32Array(env, slopes.grad()));
  });
  if (!error.empty()) throw Napi::Error::New(env, error);
  return result;
}

Napi::Value Conv3x3ForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = ExpectFloat32Array(info[0], "x");
  const std::vector<int64_t> shape = ShapeArgument(info[1]);
  Napi::Float32Array weight = ExpectFloat32Array(info[2], "weight");
  const int64_t out_channels = info[3].As<Napi::Number>().Int64Value();
  Napi::Float32Array grad = ExpectFloat32Array(info[4], "grad");
  const bool channels_last = info[5].ToBoolean();
  Napi::Object result = Napi::Object::New(env);
  std::string error = CaptureError([&] {
    const auto format =
        channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    torch::Tensor input = CopyToTensor(x, shape).contiguous(format).requires_grad_(true);
    torch::Tensor weights =
        CopyToTensor(weight, {out_channels, shape.at(1), 3, 3}).requires_grad_(true);
    torch::Tensor y = Conv3x3(input, weights);
    y.backward(CopyToTensor(grad, {shape.at(0), out_channels, shape.at(2), shape.at(3)})
                   .contiguous(format));
    result.Set("y", ToFloat32Array(env, y));
    result.Set("gradX", ToFloat32Array(env, input.grad()));
    result.Set("gradWeight", ToFloat32Array(env, weights.grad()));
    result.Set("winograd", UsesWinograd(input, weights));
  });
  if (!error.empty()) throw Napi::Error::New(env, error);
  return result;
}

Napi::Value StridedConvStackForTestsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = ExpectFloat32Array(info[0], "x");
  const std::vector<int64_t> shape = ShapeArgument(info[1]);
  Napi::Array layer_specs = info[2].As<Napi::Array>();
  Napi::Float32Array grad = ExpectFloat32Array(info[3], "grad");
  const bool channels_last = info[4].ToBoolean();
  const bool want_grad_x = info[5].ToBoolean();
  std::vector<std::pair<Napi::Float32Array, Napi::Float32Array>> specs;
  for (uint32_t i = 0; i < layer_specs.Length(); ++i) {
    Napi::Object spec = layer_specs.Get(i).As<Napi::Object>();
    specs.emplace_back(ExpectFloat32Array(spec.Get("weight"), "weight"),
                       ExpectFloat32Array(spec.Get("bias"), "bias"));
  }
  Napi::Object result = Napi::Object::New(env);
  std::string error = CaptureError([&] {
    const auto format =
        channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    torch::Tensor input = CopyToTensor(x, shape).contiguous(format).requires_grad_(want_grad_x);
    std::vector<ConvWithBias> layers;
    int64_t channels = shape.at(1);
    for (auto& [weight, bias] : specs) {
      const auto out_channels = static_cast<int64_t>(bias.ElementLength());
      layers.push_back(
          {CopyToTensor(weight, {out_channels, channels, 3, 3}).contiguous(format).requires_grad_(),
           CopyToTensor(bias, {out_channels}).requires_grad_()});
      channels = out_channels;
    }
    const bool blocked = UsesBlockedConvs(input, layers);
    torch::Tensor y = StridedConvReluStack(input, layers);
    y.backward(CopyToTensor(grad, {y.size(0), y.size(1)}));
    Napi::Array grad_weights = Napi::Array::New(env), grad_biases = Napi::Array::New(env);
    for (uint32_t i = 0; i < layers.size(); ++i) {
      grad_weights.Set(i, ToFloat32Array(env, layers[i].weight.grad()));
      grad_biases.Set(i, ToFloat32Array(env, layers[i].bias.grad()));
    }
    result.Set("y", ToFloat32Array(env, y));
    result.Set("gradX", want_grad_x ? ToFloat32Array(env, input.grad()) : env.Null());
    result.Set("gradWeights", grad_weights);
    result.Set("gradBiases", grad_biases);
    result.Set("blocked", blocked);
  });
  if (!error.empty()) throw Napi::Error::New(env, error);
  return result;
}

}  // namespace

void InitModel(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", NativeModel::Define(env));
  exports.Set("liveModelCount", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
                return Napi::Number::New(info.Env(), live_models.load());
              }));
  exports.Set("fusedSgdStep", Napi::Function::New(env, FusedSgdStepBinding));
  exports.Set("preluForTests", Napi::Function::New(env, PreluForTestsBinding));
  exports.Set("conv3x3ForTests", Napi::Function::New(env, Conv3x3ForTestsBinding));
  exports.Set("stridedConvStackForTests",
              Napi::Function::New(env, StridedConvStackForTestsBinding));
}

}  // namespace sphereface

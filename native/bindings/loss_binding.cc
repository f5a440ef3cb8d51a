// [async] marginSoftmaxLoss({features, weight, labels, dim, kind, m, scale, lambda, device?}):
//   the fused margin-softmax op (native/ops/margin_softmax.h), forward and backward in one call.
//   features/weight: both Float32Array or both Float64Array (float64 runs the op in double, for
//   finite-difference tests); labels: Int32Array. Resolves to {loss, accuracy, gradFeatures,
//   gradWeight} with the gradients in the inputs' type. device 'cuda' runs the CUDA kernel.
//   Rejects with an Error naming the problem (lib/ops/margin-softmax.ts validates first).
// [async] benchMarginSoftmax(options): internal, see native/bench/margin_softmax_bench.h.
#include <napi.h>

#include <cstring>
#include <memory>
#include <string>

#include "bench/margin_softmax_bench.h"
#include "bindings/bindings.h"
#include "common/torch_worker.h"
#include "common/typed_arrays.h"
#include "ops/margin_softmax.h"

namespace sphereface {

namespace {

struct LossBaton {
  torch::Tensor features, weight, labels;
  MarginHead head;
  bool cuda = false;
  bool float64 = false;
  double loss = 0, accuracy = 0;
  torch::Tensor grad_features, grad_weight;
};

MarginKind ParseKind(Napi::Env env, const std::string& kind) {
  if (kind == "sphere") return MarginKind::kSphere;
  if (kind == "cos") return MarginKind::kCos;
  if (kind == "arc") return MarginKind::kArc;
  throw Napi::TypeError::New(
      env, "Expected 'sphere', 'cos' or 'arc' for head.kind but received '" + kind + "'");
}

// Copies a Float32Array or Float64Array into a tensor of `rows` x `dim`.
torch::Tensor CopyFloatArray(const Napi::Value& value, const char* what, int64_t dim,
                             bool* float64) {
  Napi::Env env = value.Env();
  if (!value.IsTypedArray()) {
    throw Napi::TypeError::New(env, std::string("Expected Float32Array for ") + what);
  }
  auto array = value.As<Napi::TypedArray>();
  const napi_typedarray_type type = array.TypedArrayType();
  if (type != napi_float32_array && type != napi_float64_array) {
    throw Napi::TypeError::New(env, std::string("Expected Float32Array for ") + what);
  }
  *float64 = type == napi_float64_array;
  const int64_t length = static_cast<int64_t>(array.ElementLength());
  if (dim <= 0 || length % dim != 0) {
    throw Napi::RangeError::New(env, std::string(what) + " has " + std::to_string(length) +
                                         " values, not a multiple of dim " + std::to_string(dim));
  }
  torch::Tensor tensor =
      torch::empty({length / dim, dim}, *float64 ? torch::kDouble : torch::kFloat);
  std::memcpy(tensor.data_ptr(),
              static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset(),
              array.ByteLength());
  return tensor;
}

Napi::Value ToFloatArray(Napi::Env env, const torch::Tensor& tensor, bool float64) {
  if (!float64) return ToFloat32Array(env, tensor);
  torch::Tensor cpu = tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto array = Napi::Float64Array::New(env, cpu.numel());
  std::memcpy(array.Data(), cpu.data_ptr<double>(), cpu.numel() * sizeof(double));
  return array;
}

Napi::Value MarginSoftmaxLossBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "Expected an options object for marginSoftmaxLoss");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  auto baton = std::make_shared<LossBaton>();
  const int64_t dim = static_cast<int64_t>(GetNumber(options, "dim", 0));
  bool weight64 = false;
  baton->features = CopyFloatArray(options.Get("features"), "features", dim, &baton->float64);
  baton->weight = CopyFloatArray(options.Get("weight"), "weight", dim, &weight64);
  if (weight64 != baton->float64) {
    throw Napi::TypeError::New(env,
                               "Expected features and weight of one type (both Float32Array "
                               "or both Float64Array)");
  }
  Napi::Int32Array labels = ExpectInt32Array(options.Get("labels"), "labels");
  baton->labels = CopyToTensor(labels, {static_cast<int64_t>(labels.ElementLength())});
  baton->head.kind = ParseKind(env, GetString(options, "kind", ""));
  baton->head.m = GetNumber(options, "m", 0);
  baton->head.scale = GetNumber(options, "scale", 1);
  baton->head.lambda = GetNumber(options, "lambda", 0);
  baton->cuda = GetString(options, "device", "cpu") == "cuda";

  return TorchWorker::Run(
      env,
      [baton] {
        torch::Tensor features = baton->features, weight = baton->weight;
        torch::Tensor labels = baton->labels;
        if (baton->cuda) {
          TORCH_CHECK(torch::cuda::is_available(), "marginSoftmaxLoss: CUDA is not available");
          features = features.to(torch::kCUDA);
          weight = weight.to(torch::kCUDA);
          labels = labels.to(torch::kCUDA);
        }
        features.requires_grad_(true);
        weight.requires_grad_(true);
        auto [loss, accuracy] = MarginSoftmaxLoss(features, weight, labels, baton->head);
        loss.backward();
        baton->loss = loss.item<double>();
        baton->accuracy = accuracy.item<double>();
        baton->grad_features = features.grad().cpu();
        baton->grad_weight = weight.grad().cpu();
      },
      [baton](Napi::Env env) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("loss", baton->loss);
        result.Set("accuracy", baton->accuracy);
        result.Set("gradFeatures", ToFloatArray(env, baton->grad_features, baton->float64));
        result.Set("gradWeight", ToFloatArray(env, baton->grad_weight, baton->float64));
        return result;
      });
}

}  // namespace

void InitLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("marginSoftmaxLoss",
              Napi::Function::New(env, MarginSoftmaxLossBinding, "marginSoftmaxLoss"));
  exports.Set("benchMarginSoftmax",
              Napi::Function::New(env, BenchMarginSoftmaxBinding, "benchMarginSoftmax"));
}

}  // namespace sphereface

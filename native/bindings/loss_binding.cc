// [async] marginSoftmaxLoss({features, weight, bias, labels, dim,
//   head: {kind, m, scale, lambda, easyMargin}, device}): the fused margin-softmax op
//   (native/ops/margin_softmax.h), forward and backward in one call. features/weight (and bias,
//   the softmax head's, null for the others): all Float32Array or all Float64Array (float64 runs
//   the op in double, for finite-difference tests), on an ArrayBuffer or a SharedArrayBuffer;
//   labels: Int32Array. Resolves to {loss, accuracy, gradFeatures, gradWeight, gradBias} with the
//   gradients in the inputs' type (gradBias null without a bias). device 'cuda' runs the CUDA
//   kernel. Rejects with a TypeError / RangeError / Error
//   naming the problem (lib/ops/margin-softmax.ts validates first), and with a RangeError when the
//   loss or its gradients overflow the inputs' type, rather than resolving to NaN.
#include <napi.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "bindings/bindings.h"
#include "bindings/options.h"
#include "common/torch_worker.h"
#include "common/typed_arrays.h"
#include "ops/margin_softmax.h"

namespace sphereface {

namespace {

struct LossBaton {
  torch::Tensor features, weight, labels, bias;
  MarginHead head;
  bool cuda = false;
  bool float64 = false;
  double loss = 0, accuracy = 0;
  torch::Tensor grad_features, grad_weight, grad_bias;
};

// Copies a Float32Array or Float64Array into a tensor of rows x `dim`.
torch::Tensor CopyFloatArray(const Napi::Value& value, const char* what, int64_t dim,
                             bool float64) {
  Napi::Env env = value.Env();
  const int64_t length =
      value.IsTypedArray() ? static_cast<int64_t>(value.As<Napi::TypedArray>().ElementLength()) : 0;
  if (dim <= 0 || length % dim != 0) {
    throw Napi::RangeError::New(env, std::string(what) + " has " + std::to_string(length) +
                                         " values, not a multiple of dim " + std::to_string(dim));
  }
  if (float64) return CopyToTensor(ExpectFloat64Array(value, what), {length / dim, dim});
  return CopyToTensor(ExpectFloat32Array(value, what), {length / dim, dim});
}

bool IsFloat64Array(const Napi::Value& value) {
  return value.IsTypedArray() &&
         value.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
}

// Every entry of the op's x W^T GEMM is at most ||x_i|| ||W_j|| (Cauchy-Schwarz): inputs within
// these bounds cannot overflow it. Beyond them the cosines would come out clamped, and wrong.
void CheckNorms(const torch::Tensor& features, const torch::Tensor& weight) {
  const bool float64 = features.scalar_type() == torch::kDouble;
  const double limit =
      float64 ? std::numeric_limits<double>::max() : std::numeric_limits<float>::max();
  auto longest = [](const torch::Tensor& rows, int64_t* row) {
    const int64_t along_rows = 1;
    torch::Tensor norms = at::linalg_vector_norm(rows, 2, along_rows, false, torch::kDouble);
    *row = norms.argmax().item<int64_t>();
    return norms[*row].item<double>();
  };
  int64_t feature_row = 0, weight_row = 0;
  const double feature_norm = longest(features, &feature_row);
  const double weight_norm = longest(weight, &weight_row);
  TORCH_CHECK_VALUE(
      feature_norm <= limit && weight_norm <= limit && feature_norm * weight_norm <= limit,
      "marginSoftmaxLoss: features row ", feature_row, " (norm ", feature_norm, ") and weight row ",
      weight_row, " (norm ", weight_norm,
      ") are too long: the product of their norms must stay within ",
      float64 ? "float64" : "float32", "'s largest value ", limit, "; scale them down",
      float64 ? "" : " or pass Float64Array");
}

// What overflows all the same (a huge scale) gets an error too, never a NaN loss.
void CheckFiniteResult(const LossBaton& baton) {
  TORCH_CHECK_VALUE(
      std::isfinite(baton.loss) && baton.grad_features.isfinite().all().item<bool>() &&
          baton.grad_weight.isfinite().all().item<bool>() &&
          (!baton.grad_bias.defined() || baton.grad_bias.isfinite().all().item<bool>()),
      "marginSoftmaxLoss: the loss or its gradients overflow ",
      baton.float64 ? "float64" : "float32", " (loss ", baton.loss,
      "); scale the features, the weight or the head's scale down",
      baton.float64 ? "" : ", or pass Float64Array");
}

Napi::Value MarginSoftmaxLossBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    throw Napi::TypeError::New(env, "Expected an options object for marginSoftmaxLoss");
  }
  Napi::Object options = info[0].As<Napi::Object>();
  auto baton = std::make_shared<LossBaton>();
  const auto dim = static_cast<int64_t>(RequireNumber(options, "dim"));
  baton->float64 = IsFloat64Array(options.Get("features"));
  baton->features = CopyFloatArray(options.Get("features"), "features", dim, baton->float64);
  baton->weight = CopyFloatArray(options.Get("weight"), "weight", dim, baton->float64);
  Napi::Int32Array labels = ExpectInt32Array(options.Get("labels"), "labels");
  baton->labels = CopyToTensor(labels, {static_cast<int64_t>(labels.ElementLength())});
  baton->head = RequireMarginHead(RequireObject(options, "head"));
  const Napi::Value bias = options.Get("bias");
  if (!bias.IsNull() && !bias.IsUndefined()) {
    const auto classes = baton->weight.size(0);
    baton->bias = CopyFloatArray(bias, "bias", classes, baton->float64).reshape({classes});
  }
  baton->cuda = RequireString(options, "device") == "cuda";

  return TorchWorker::Run(
      env,
      [baton] {
        torch::Tensor features = baton->features, weight = baton->weight;
        torch::Tensor labels = baton->labels, bias = baton->bias;
        if (baton->cuda) {
          TORCH_CHECK(torch::cuda::is_available(), "marginSoftmaxLoss: CUDA is not available");
          features = features.to(torch::kCUDA);
          weight = weight.to(torch::kCUDA);
          labels = labels.to(torch::kCUDA);
          if (bias.defined()) bias = bias.to(torch::kCUDA);
        }
        CheckNorms(features, weight);
        features.requires_grad_(true);
        weight.requires_grad_(true);
        if (bias.defined()) bias.requires_grad_(true);
        auto [loss, accuracy] = MarginSoftmaxLoss(features, weight, labels, baton->head, bias);
        loss.backward();
        baton->loss = loss.item<double>();
        baton->accuracy = accuracy.item<double>();
        baton->grad_features = features.grad().cpu();
        baton->grad_weight = weight.grad().cpu();
        if (bias.defined()) baton->grad_bias = bias.grad().cpu();
        CheckFiniteResult(*baton);
      },
      [baton](Napi::Env env) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("loss", baton->loss);
        result.Set("accuracy", baton->accuracy);
        auto to_array = [&](const torch::Tensor& tensor) -> Napi::Value {
          if (!tensor.defined()) return env.Null();
          return baton->float64 ? Napi::Value(ToFloat64Array(env, tensor))
                                : Napi::Value(ToFloat32Array(env, tensor));
        };
        result.Set("gradFeatures", to_array(baton->grad_features));
        result.Set("gradWeight", to_array(baton->grad_weight));
        result.Set("gradBias", to_array(baton->grad_bias));
        return result;
      });
}

}  // namespace

void InitLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("marginSoftmaxLoss",
              Napi::Function::New(env, MarginSoftmaxLossBinding, "marginSoftmaxLoss"));
}

}  // namespace sphereface

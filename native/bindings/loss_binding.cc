// [async] marginSoftmaxLoss({features, weight, bias, labels, dim,
//   head: {kind, m, scale, lambda, easyMargin}, device}): the fused margin-softmax op
//   (native/ops/margin_softmax.h), forward and backward in one call. features/weight (and bias,
//   the softmax head's, null for the others): all Float32Array or all Float64Array (float64 runs
//   the op in double, for finite-difference tests), on an ArrayBuffer or a SharedArrayBuffer, read
//   in place off the JS thread (kept alive until the Promise settles; the caller leaves them
//   unchanged meanwhile) and checked for NaN and infinities in the pass that finds their longest
//   rows; labels: Int32Array. Resolves to {loss, accuracy, gradFeatures, gradWeight, gradBias}
//   with the gradients in the inputs' type, handed over without a copy (gradBias null without a
//   bias). device 'cuda' runs the CUDA kernel. Rejects with a TypeError / RangeError / Error
//   naming the problem (lib/ops/margin-softmax.ts validates the rest first), and with a RangeError
//   when the loss or its gradients overflow the inputs' type, rather than resolving to NaN.
#include <ATen/Parallel.h>
#include <napi.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "bindings/bindings.h"
#include "bindings/options.h"
#include "common/sum_of_squares.h"
#include "common/torch_worker.h"
#include "common/typed_arrays.h"
#include "common/vector_clones.h"
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

// The caller's Float32Array or Float64Array as a tensor of rows x `dim`, read in place: the op
// only reads it, and copying the 20 MB weight of a paper-sized head costs more than its GEMM pass.
torch::Tensor ViewRows(const Napi::Value& value, const char* what, int64_t dim, bool float64) {
  Napi::Env env = value.Env();
  const int64_t length =
      value.IsTypedArray() ? static_cast<int64_t>(value.As<Napi::TypedArray>().ElementLength()) : 0;
  if (dim <= 0 || length % dim != 0) {
    throw Napi::RangeError::New(env, std::string(what) + " has " + std::to_string(length) +
                                         " values, not a multiple of dim " + std::to_string(dim));
  }
  if (float64)
    return ViewOfArray(ExpectFloat64Array(value, what), {length / dim, dim}, torch::kDouble);
  return ViewOfArray(ExpectFloat32Array(value, what), {length / dim, dim}, torch::kFloat);
}

bool IsFloat64Array(const Napi::Value& value) {
  return value.IsTypedArray() &&
         value.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
}

// What one pass over an input's rows finds: its longest row (in double, so that no float32
// square overflows) and its first value that is not finite.
struct RowScan {
  double longest = 0;
  int64_t longest_row = 0;
  int64_t first_non_finite = -1;  // a flat index
};

// The sums of squares of rows [begin, end).
template <typename T>
SPHEREFACE_ALWAYS_INLINE void SquaresOf(const T* data, int64_t dim, int64_t begin, int64_t end,
                                        double* squares) {
  for (int64_t r = begin; r < end; ++r) squares[r] = SumOfSquares(data + r * dim, dim);
}

SPHEREFACE_VECTOR_CLONES void RowSquares(const float* data, int64_t dim, int64_t begin, int64_t end,
                                         double* squares) {
  SquaresOf(data, dim, begin, end, squares);
}

SPHEREFACE_VECTOR_CLONES void RowSquares(const double* data, int64_t dim, int64_t begin,
                                         int64_t end, double* squares) {
  SquaresOf(data, dim, begin, end, squares);
}

template <typename T>
RowScan ScanRows(const torch::Tensor& rows) {
  const int64_t count = rows.size(0), dim = rows.size(1);
  const T* data = rows.data_ptr<T>();
  std::vector<double> squares(count);
  at::parallel_for(0, count, 16, [&](int64_t begin, int64_t end) {
    RowSquares(data, dim, begin, end, squares.data());
  });
  RowScan scan;
  for (int64_t r = 0; r < count; ++r) {
    // Not finite: a NaN or infinity in the row, or (float64) a row too long for a double.
    if (!std::isfinite(squares[r]) && scan.first_non_finite < 0) {
      const T* row = data + r * dim;
      for (int64_t k = 0; k < dim && scan.first_non_finite < 0; ++k) {
        if (!std::isfinite(row[k])) scan.first_non_finite = r * dim + k;
      }
    }
    if (!(squares[r] <= scan.longest)) {
      scan.longest = squares[r];
      scan.longest_row = r;
    }
  }
  scan.longest = std::sqrt(scan.longest);
  return scan;
}

std::string JsNumber(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "Infinity" : "-Infinity";
}

// Refuses a NaN or an infinity in an input, naming its place as JS would index it.
RowScan CheckFinite(const torch::Tensor& rows, const char* what) {
  const RowScan scan =
      rows.scalar_type() == torch::kDouble ? ScanRows<double>(rows) : ScanRows<float>(rows);
  if (scan.first_non_finite >= 0) {
    const int64_t i = scan.first_non_finite;
    TORCH_CHECK_VALUE(false, "Expected finite numbers in ", what, " but ", what, "[", i, "] (row ",
                      i / rows.size(1), ") is ", JsNumber(rows.view(-1)[i].item<double>()));
  }
  return scan;
}

// Every entry of the op's x W^T GEMM is at most ||x_i|| ||W_j|| (Cauchy-Schwarz): inputs within
// these bounds cannot overflow it. Beyond them the cosines would come out clamped, and wrong.
// One pass per input checks both this and that every value is finite.
void CheckInputs(const torch::Tensor& features, const torch::Tensor& weight,
                 const torch::Tensor& bias) {
  const bool float64 = features.scalar_type() == torch::kDouble;
  const double limit =
      float64 ? std::numeric_limits<double>::max() : std::numeric_limits<float>::max();
  if (bias.defined()) CheckFinite(bias.view({-1, 1}), "bias");
  const RowScan feature = CheckFinite(features, "features");
  const RowScan weights = CheckFinite(weight, "weight");
  TORCH_CHECK_VALUE(feature.longest <= limit && weights.longest <= limit &&
                        feature.longest * weights.longest <= limit,
                    "marginSoftmaxLoss: features row ", feature.longest_row, " (norm ",
                    feature.longest, ") and weight row ", weights.longest_row, " (norm ",
                    weights.longest, ") are too long: the product of their norms must stay within ",
                    float64 ? "float64" : "float32", "'s largest value ", limit,
                    "; scale them down", float64 ? "" : " or pass Float64Array");
}

// Zero times a finite value is zero and times an infinity or a NaN is NaN, so the sum below is
// zero exactly when every value is finite: a loop that vectorises, where isfinite's does not.
template <typename T>
SPHEREFACE_ALWAYS_INLINE bool FiniteIn(const T* __restrict data, int64_t begin, int64_t end) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = begin; i < end; ++i) sum += data[i] * T(0);
  return sum == 0;
}

SPHEREFACE_VECTOR_CLONES bool RangeFinite(const float* data, int64_t begin, int64_t end) {
  return FiniteIn(data, begin, end);
}

SPHEREFACE_VECTOR_CLONES bool RangeFinite(const double* data, int64_t begin, int64_t end) {
  return FiniteIn(data, begin, end);
}

template <typename T>
bool AllFinite(const torch::Tensor& tensor) {
  const T* data = tensor.data_ptr<T>();
  std::atomic<bool> finite{true};
  at::parallel_for(0, tensor.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    if (!RangeFinite(data, begin, end)) finite = false;
  });
  return finite;
}

bool AllFinite(const torch::Tensor& tensor) {
  if (!tensor.defined()) return true;
  return tensor.scalar_type() == torch::kDouble ? AllFinite<double>(tensor)
                                                : AllFinite<float>(tensor);
}

// What overflows all the same (a huge scale) gets an error too, never a NaN loss.
void CheckFiniteResult(const LossBaton& baton) {
  TORCH_CHECK_VALUE(std::isfinite(baton.loss) && AllFinite(baton.grad_features) &&
                        AllFinite(baton.grad_weight) && AllFinite(baton.grad_bias),
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
  const Napi::Value features = options.Get("features"), weight = options.Get("weight");
  baton->features = ViewRows(features, "features", dim, baton->float64);
  baton->weight = ViewRows(weight, "weight", dim, baton->float64);
  std::vector<Napi::Value> read_in_place = {features, weight};
  Napi::Int32Array labels = ExpectInt32Array(options.Get("labels"), "labels");
  baton->labels = CopyToTensor(labels, {static_cast<int64_t>(labels.ElementLength())});
  baton->head = RequireMarginHead(RequireObject(options, "head"));
  const Napi::Value bias = options.Get("bias");
  if (!bias.IsNull() && !bias.IsUndefined()) {
    const auto classes = baton->weight.size(0);
    baton->bias = ViewRows(bias, "bias", classes, baton->float64).reshape({classes});
    read_in_place.push_back(bias);
  }
  baton->cuda = RequireString(options, "device") == "cuda";

  return TorchWorker::Run(
      env,
      [baton] {
        torch::Tensor features = baton->features, weight = baton->weight;
        torch::Tensor labels = baton->labels, bias = baton->bias;
        CheckInputs(features, weight, bias);
        if (baton->cuda) {
          TORCH_CHECK(torch::cuda::is_available(), "marginSoftmaxLoss: CUDA is not available");
          features = features.to(torch::kCUDA);
          weight = weight.to(torch::kCUDA);
          labels = labels.to(torch::kCUDA);
          if (bias.defined()) bias = bias.to(torch::kCUDA);
        }
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
          return baton->float64 ? Napi::Value(ExternalFloat64Array(env, tensor))
                                : Napi::Value(ExternalFloat32Array(env, tensor));
        };
        result.Set("gradFeatures", to_array(baton->grad_features));
        result.Set("gradWeight", to_array(baton->grad_weight));
        result.Set("gradBias", to_array(baton->grad_bias));
        return result;
      },
      read_in_place);
}

}  // namespace

void InitLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("marginSoftmaxLoss",
              Napi::Function::New(env, MarginSoftmaxLossBinding, "marginSoftmaxLoss"));
}

}  // namespace sphereface

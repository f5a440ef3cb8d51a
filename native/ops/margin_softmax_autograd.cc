// MarginSoftmaxLoss as a libtorch autograd Function: checks, device dispatch, and the analytic
// backward wired in, so nets train through the fused op without a graph over B x C temporaries.
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "ops/margin_softmax.h"
#include "ops/margin_softmax_impl.h"

namespace sphereface {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

#ifdef SPHEREFACE_WITH_CUDA
constexpr bool kCudaKernels = true;
#else
constexpr bool kCudaKernels = false;
#endif

// Tensors the CPU kernel can read: CUDA tensors are copied when this build has no CUDA kernel
// (a libtorch with CUDA but an addon built without nvcc); the results are copied back.
torch::Tensor OnKernelDevice(const torch::Tensor& tensor) {
  return !kCudaKernels && tensor.defined() && !tensor.is_cpu() ? tensor.cpu() : tensor;
}

MarginForwardState Forward(const torch::Tensor& features, const torch::Tensor& weight,
                           const torch::Tensor& labels, const torch::Tensor& bias,
                           const MarginHead& head) {
#ifdef SPHEREFACE_WITH_CUDA
  if (features.is_cuda()) return MarginSoftmaxForwardCuda(features, weight, labels, bias, head);
#endif
  MarginForwardState state =
      MarginSoftmaxForwardCpu(OnKernelDevice(features), OnKernelDevice(weight),
                              OnKernelDevice(labels), OnKernelDevice(bias), head);
  // Only what leaves the op goes back; what backward reads stays where its kernel runs.
  state.loss = state.loss.to(features.device());
  state.accuracy = state.accuracy.to(features.device());
  return state;
}

MarginGradients Backward(const torch::Tensor& grad_loss, const torch::Tensor& features,
                         const torch::Tensor& weight, const torch::Tensor& labels,
                         const MarginForwardState& state, const MarginHead& head) {
#ifdef SPHEREFACE_WITH_CUDA
  if (features.is_cuda()) {
    return MarginSoftmaxBackwardCuda(grad_loss, features, weight, labels, state, head);
  }
#endif
  MarginGradients grads =
      MarginSoftmaxBackwardCpu(OnKernelDevice(grad_loss), OnKernelDevice(features),
                               OnKernelDevice(weight), OnKernelDevice(labels), state, head);
  grads.features = grads.features.to(features.device());
  grads.weight = grads.weight.to(features.device());
  if (grads.bias.defined()) grads.bias = grads.bias.to(features.device());
  return grads;
}

class MarginSoftmaxFunction : public torch::autograd::Function<MarginSoftmaxFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& features,
                               const torch::Tensor& weight, const torch::Tensor& labels,
                               const c10::optional<torch::Tensor>& bias, int64_t kind, double m,
                               double scale, double lambda, bool easy_margin) {
    MarginHead head;
    head.kind = static_cast<MarginKind>(kind);
    head.m = m;
    head.scale = scale;
    head.lambda = lambda;
    head.easy_margin = easy_margin;
    MarginForwardState state =
        Forward(features, weight, labels, bias.has_value() ? *bias : torch::Tensor(), head);
    ctx->save_for_backward({features, weight, labels, state.exps, state.row_stats,
                            state.weight_norms, state.inv_weight_norms});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["m"] = m;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["lambda"] = lambda;
    ctx->saved_data["easy_margin"] = easy_margin;
    ctx->mark_non_differentiable({state.accuracy});
    return {state.loss, state.accuracy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    MarginHead head;
    head.kind = static_cast<MarginKind>(ctx->saved_data["kind"].toInt());
    head.m = ctx->saved_data["m"].toDouble();
    head.scale = ctx->saved_data["scale"].toDouble();
    head.lambda = ctx->saved_data["lambda"].toDouble();
    head.easy_margin = ctx->saved_data["easy_margin"].toBool();
    const torch::Tensor& grad_loss = grad_outputs[0];
    // One entry per forward argument: features, weight, labels, bias, then the head's fields.
    variable_list out(9);
    if (!grad_loss.defined()) return out;
    MarginForwardState state;
    state.exps = saved[3];
    state.row_stats = saved[4];
    state.weight_norms = saved[5];
    state.inv_weight_norms = saved[6];
    MarginGradients grads = Backward(grad_loss, saved[0], saved[1], saved[2], state, head);
    out[0] = grads.features;
    out[1] = grads.weight;
    out[3] = grads.bias;
    return out;
  }
};

bool IsFinite(double value) { return std::isfinite(value); }

}  // namespace

void CheckMarginHead(const MarginHead& head) {
  TORCH_CHECK_VALUE(IsFinite(head.m), "margin head: m must be finite but is ", head.m);
  switch (head.kind) {
    case MarginKind::kSphere:
      TORCH_CHECK_VALUE(head.m == std::floor(head.m) && head.m >= 1 && head.m <= 6,
                        "margin head: sphere m must be an integer in 1..6 but is ", head.m);
      TORCH_CHECK_VALUE(IsFinite(head.lambda) && head.lambda >= 0,
                        "margin head: sphere lambda must be finite and >= 0 but is ", head.lambda);
      break;
    case MarginKind::kCos:
      TORCH_CHECK_VALUE(head.m >= 0 && head.m < 2, "margin head: cos m must be in [0, 2) but is ",
                        head.m);
      TORCH_CHECK_VALUE(IsFinite(head.scale) && head.scale > 0,
                        "margin head: cos scale must be finite and > 0 but is ", head.scale);
      break;
    case MarginKind::kArc:
      TORCH_CHECK_VALUE(head.m >= 0 && head.m < margin::kPi,
                        "margin head: arc m must be in [0, pi) but is ", head.m);
      TORCH_CHECK_VALUE(IsFinite(head.scale) && head.scale > 0,
                        "margin head: arc scale must be finite and > 0 but is ", head.scale);
      break;
    case MarginKind::kSoftmax:
      TORCH_CHECK_VALUE(head.m == 0, "margin head: softmax has no margin, but m is ", head.m);
      break;
    default:
      TORCH_CHECK_VALUE(false, "margin head: unknown kind ", static_cast<int>(head.kind));
  }
  TORCH_CHECK_VALUE(!head.easy_margin || head.kind == MarginKind::kArc,
                    "margin head: the easy margin is ArcFace's only");
}

bool MarginSoftmaxHasCudaKernels() { return kCudaKernels; }

std::tuple<torch::Tensor, torch::Tensor> MarginSoftmaxLoss(const torch::Tensor& features,
                                                           const torch::Tensor& weight,
                                                           const torch::Tensor& labels,
                                                           const MarginHead& head,
                                                           const torch::Tensor& bias) {
  CheckMarginHead(head);
  TORCH_CHECK_VALUE(features.dim() == 2, "margin-softmax loss: features must be batch x dim, got ",
                    features.sizes());
  TORCH_CHECK_VALUE(weight.dim() == 2, "margin-softmax loss: weight must be classes x dim, got ",
                    weight.sizes());
  TORCH_CHECK_VALUE(labels.dim() == 1, "margin-softmax loss: labels must be 1-D, got ",
                    labels.sizes());
  const int64_t batch = features.size(0), classes = weight.size(0);
  TORCH_CHECK_VALUE(batch > 0, "margin-softmax loss: the batch is empty");
  TORCH_CHECK_VALUE(classes > 0, "margin-softmax loss: weight has no classes");
  TORCH_CHECK_VALUE(features.size(1) == weight.size(1), "margin-softmax loss: features have dim ",
                    features.size(1), " but weight rows have dim ", weight.size(1));
  TORCH_CHECK_VALUE(labels.size(0) == batch, "margin-softmax loss: ", labels.size(0),
                    " labels for a batch of ", batch);
  TORCH_CHECK_TYPE(
      features.scalar_type() == torch::kFloat || features.scalar_type() == torch::kDouble,
      "margin-softmax loss: features must be float32 or float64, got ", features.scalar_type());
  TORCH_CHECK_TYPE(weight.scalar_type() == features.scalar_type(),
                   "margin-softmax loss: weight dtype ", weight.scalar_type(),
                   " differs from the features' ", features.scalar_type());
  TORCH_CHECK_TYPE(labels.scalar_type() == torch::kLong || labels.scalar_type() == torch::kInt,
                   "margin-softmax loss: labels must be int64 or int32, got ",
                   labels.scalar_type());
  const bool softmax = head.kind == MarginKind::kSoftmax;
  TORCH_CHECK_VALUE(
      bias.defined() == softmax, "margin-softmax loss: ",
      softmax ? "the softmax head needs a bias" : "only the softmax head takes a bias");
  if (softmax) {
    TORCH_CHECK_VALUE(bias.dim() == 1 && bias.size(0) == classes,
                      "margin-softmax loss: bias must hold one value per class (", classes,
                      "), got ", bias.sizes());
    TORCH_CHECK_TYPE(bias.scalar_type() == features.scalar_type(),
                     "margin-softmax loss: bias dtype ", bias.scalar_type(),
                     " differs from the features' ", features.scalar_type());
  }
  TORCH_CHECK(weight.device() == features.device() && labels.device() == features.device() &&
                  (!softmax || bias.device() == features.device()),
              "margin-softmax loss: features, weight, labels and bias must be on one device");
  torch::Tensor labels64 = labels.to(torch::kLong).contiguous();
  // A label out of range would index outside the row: checked here even when the caller did.
  const int64_t low = labels64.min().item<int64_t>(), high = labels64.max().item<int64_t>();
  TORCH_CHECK_VALUE(low >= 0 && high < classes, "margin-softmax loss: labels must be in [0, ",
                    classes, ") but range over [", low, ", ", high, "]");

  const variable_list out = MarginSoftmaxFunction::apply(
      features.contiguous(), weight.contiguous(), labels64,
      // An optional, not an undefined tensor: autograd reads every tensor argument's device.
      softmax ? c10::optional<torch::Tensor>(bias.contiguous()) : c10::nullopt,
      static_cast<int64_t>(head.kind), head.m, head.scale, head.lambda, head.easy_margin);
  return {out[0], out[1]};
}

}  // namespace sphereface

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

MarginForwardState Forward(const torch::Tensor& features, const torch::Tensor& weight,
                           const torch::Tensor& labels, const MarginHead& head) {
#ifdef SPHEREFACE_WITH_CUDA
  if (features.is_cuda()) return MarginSoftmaxForwardCuda(features, weight, labels, head);
#endif
  TORCH_CHECK(features.is_cpu(), "margin-softmax loss: no CUDA kernel in this build for device ",
              features.device());
  return MarginSoftmaxForwardCpu(features, weight, labels, head);
}

std::pair<torch::Tensor, torch::Tensor> Backward(
    const torch::Tensor& grad_loss, const torch::Tensor& features, const torch::Tensor& weight,
    const torch::Tensor& labels, const MarginForwardState& state, const MarginHead& head) {
#ifdef SPHEREFACE_WITH_CUDA
  if (features.is_cuda()) {
    return MarginSoftmaxBackwardCuda(grad_loss, features, weight, labels, state, head);
  }
#endif
  return MarginSoftmaxBackwardCpu(grad_loss, features, weight, labels, state, head);
}

class MarginSoftmaxFunction : public torch::autograd::Function<MarginSoftmaxFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& features,
                               const torch::Tensor& weight, const torch::Tensor& labels,
                               int64_t kind, double m, double scale, double lambda) {
    MarginHead head;
    head.kind = static_cast<MarginKind>(kind);
    head.m = m;
    head.scale = scale;
    head.lambda = lambda;
    MarginForwardState state = Forward(features, weight, labels, head);
    ctx->save_for_backward({features, weight, labels, state.exps, state.row_stats,
                            state.weight_norms, state.inv_weight_norms});
    ctx->saved_data["kind"] = kind;
    ctx->saved_data["m"] = m;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["lambda"] = lambda;
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
    const torch::Tensor& grad_loss = grad_outputs[0];
    if (!grad_loss.defined()) {
      return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(),
              torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
    MarginForwardState state;
    state.exps = saved[3];
    state.row_stats = saved[4];
    state.weight_norms = saved[5];
    state.inv_weight_norms = saved[6];
    auto grads = Backward(grad_loss, saved[0], saved[1], saved[2], state, head);
    return {grads.first,     grads.second,    torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
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
    default:
      TORCH_CHECK_VALUE(false, "margin head: unknown kind ", static_cast<int>(head.kind));
  }
}

std::tuple<torch::Tensor, torch::Tensor> MarginSoftmaxLoss(const torch::Tensor& features,
                                                           const torch::Tensor& weight,
                                                           const torch::Tensor& labels,
                                                           const MarginHead& head) {
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
  TORCH_CHECK(weight.device() == features.device() && labels.device() == features.device(),
              "margin-softmax loss: features, weight and labels must be on one device");
  torch::Tensor labels64 = labels.to(torch::kLong).contiguous();
  // A label out of range would index outside the row: checked here even when the caller did.
  const int64_t low = labels64.min().item<int64_t>(), high = labels64.max().item<int64_t>();
  TORCH_CHECK_VALUE(low >= 0 && high < classes, "margin-softmax loss: labels must be in [0, ",
                    classes, ") but range over [", low, ", ", high, "]");

  const variable_list out = MarginSoftmaxFunction::apply(features.contiguous(), weight.contiguous(),
                                                         labels64, static_cast<int64_t>(head.kind),
                                                         head.m, head.scale, head.lambda);
  return {out[0], out[1]};
}

}  // namespace sphereface

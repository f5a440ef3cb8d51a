// The fused margin-softmax op's per-device halves, behind MarginSoftmaxLoss (the autograd
// Function in margin_softmax_autograd.cc). Internal: the bench binding calls them directly.
#pragma once

#include <torch/torch.h>

#include "ops/margin_math.h"
#include "ops/margin_softmax.h"

namespace sphereface {

// What forward keeps for backward: one B x C buffer plus vectors.
struct MarginForwardState {
  torch::Tensor loss;              // 0-dim, the features' dtype
  torch::Tensor accuracy;          // 0-dim float64
  torch::Tensor exps;              // B x C: exp(z_ij - zmax_i) (the margin logit for j = y)
  torch::Tensor row_stats;         // B x margin::kRowStatCount double (margin_math.h)
  torch::Tensor weight_norms;      // C: ||W_j|| (softmax: 1), the features' dtype
  torch::Tensor inv_weight_norms;  // C: 1 / max(||W_j||, eps) (softmax: 1; CPU only)
};

// d loss / d each input; bias undefined unless the head is softmax.
struct MarginGradients {
  torch::Tensor features, weight, bias;
};

// What each device's per-row forward pass writes: the statistics backward needs, and each row's
// loss and hit, which Finish averages into the state's loss and accuracy.
struct RowOutputs {
  explicit RowOutputs(const torch::Tensor& features)
      : stats(torch::empty({features.size(0), margin::kRowStatCount},
                           features.options().dtype(torch::kDouble))),
        loss(torch::empty({features.size(0)}, stats.options())),
        correct(torch::empty({features.size(0)}, stats.options())) {}

  void Finish(MarginForwardState& state, torch::ScalarType loss_dtype) const {
    state.row_stats = stats;
    state.loss = loss.mean().to(loss_dtype);
    state.accuracy = correct.mean();  // float64: a share of rows, exact as 1 / B allows
  }

  torch::Tensor stats;    // B x margin::kRowStatCount
  torch::Tensor loss;     // B: -log p_iy
  torch::Tensor correct;  // B: 1 where the row's largest plain cosine is the label's
};

margin::HeadParams ToHeadParams(const MarginHead& head);

// Inputs are contiguous, checked, on one device; labels are int64; bias is defined exactly when
// the head is softmax.
MarginForwardState MarginSoftmaxForwardCpu(const torch::Tensor& features,
                                           const torch::Tensor& weight, const torch::Tensor& labels,
                                           const torch::Tensor& bias, const MarginHead& head);
// grad_loss: the loss's incoming gradient (0-dim).
MarginGradients MarginSoftmaxBackwardCpu(const torch::Tensor& grad_loss,
                                         const torch::Tensor& features, const torch::Tensor& weight,
                                         const torch::Tensor& labels,
                                         const MarginForwardState& state, const MarginHead& head);

#ifdef SPHEREFACE_WITH_CUDA
MarginForwardState MarginSoftmaxForwardCuda(const torch::Tensor& features,
                                            const torch::Tensor& weight,
                                            const torch::Tensor& labels, const torch::Tensor& bias,
                                            const MarginHead& head);
MarginGradients MarginSoftmaxBackwardCuda(const torch::Tensor& grad_loss,
                                          const torch::Tensor& features,
                                          const torch::Tensor& weight, const torch::Tensor& labels,
                                          const MarginForwardState& state, const MarginHead& head);
#endif

}  // namespace sphereface

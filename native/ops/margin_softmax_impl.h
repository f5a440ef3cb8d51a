// The fused margin-softmax op's per-device halves, behind MarginSoftmaxLoss (the autograd
// Function in margin_softmax_autograd.cc). Internal: the bench binding calls them directly.
#pragma once

#include <torch/torch.h>

#include <utility>

#include "ops/margin_math.h"
#include "ops/margin_softmax.h"

namespace sphereface {

// The columns of MarginForwardState::row_stats (double, B x kRowStatCount).
enum RowStat {
  kRowNorm = 0,   // ||x_i||
  kRowInvNorm,    // 1 / max(||x_i||, eps)
  kRowFactor,     // f_i: ||x_i|| (sphere) or s
  kRowInvSum,     // 1 / sum_j exp(z_ij - zmax_i)
  kRowDUnit,      // d u_iy / d cos_iy
  kRowUnit,       // u_iy, the target's unit logit
  kRowTargetCos,  // cos_iy
  kRowMeanCos,    // sum_j p_ij cos_ij (plain cosines, the target's too)
  kRowStatCount
};

// What forward keeps for backward: one B x C buffer plus vectors.
struct MarginForwardState {
  torch::Tensor loss;              // 0-dim, the features' dtype
  torch::Tensor accuracy;          // 0-dim float64
  torch::Tensor exps;              // B x C: exp(z_ij - zmax_i) (the margin logit for j = y)
  torch::Tensor row_stats;         // B x kRowStatCount double
  torch::Tensor weight_norms;      // C: ||W_j||, the features' dtype
  torch::Tensor inv_weight_norms;  // C: 1 / max(||W_j||, eps) (CPU only; CUDA recomputes it)
};

margin::HeadParams ToHeadParams(const MarginHead& head);

// Inputs are contiguous, checked, on one device; labels are int64.
MarginForwardState MarginSoftmaxForwardCpu(const torch::Tensor& features,
                                           const torch::Tensor& weight, const torch::Tensor& labels,
                                           const MarginHead& head);
// grad_loss: the loss's incoming gradient (0-dim). Returns (grad features, grad weight).
std::pair<torch::Tensor, torch::Tensor> MarginSoftmaxBackwardCpu(
    const torch::Tensor& grad_loss, const torch::Tensor& features, const torch::Tensor& weight,
    const torch::Tensor& labels, const MarginForwardState& state, const MarginHead& head);

#ifdef SPHEREFACE_WITH_CUDA
MarginForwardState MarginSoftmaxForwardCuda(const torch::Tensor& features,
                                            const torch::Tensor& weight,
                                            const torch::Tensor& labels, const MarginHead& head);
std::pair<torch::Tensor, torch::Tensor> MarginSoftmaxBackwardCuda(
    const torch::Tensor& grad_loss, const torch::Tensor& features, const torch::Tensor& weight,
    const torch::Tensor& labels, const MarginForwardState& state, const MarginHead& head);
#endif

}  // namespace sphereface

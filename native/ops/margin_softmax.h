// The fused margin-softmax loss: SphereFace A-Softmax, CosFace and ArcFace in one op.
//
// Inputs: features x (B x D), weight W (C x D, rows normalised inside the op, no bias),
// labels y (B). With cos_j = <x, W_j> / (||x|| ||W_j||) and t_j = acos(cos_j):
//   sphere (integer m in 1..6, lambda >= 0):
//     logit_j = ||x|| cos_j                                   for j != y
//     logit_y = ||x|| (lambda cos_y + psi(t_y)) / (1 + lambda)
//     psi(t) = (-1)^k cos(m t) - 2k  for t in [k pi/m, (k+1) pi/m], cos(m t) by Chebyshev
//   cos (CosFace, scale s, margin m):  logit_j = s cos_j,  logit_y = s (cos_y - m)
//   arc (ArcFace, scale s, margin m):  logit_j = s cos_j,
//     logit_y = s cos(t_y + m) where t_y + m <= pi, else s (cos_y - m sin(m))
// loss = mean over rows of -log softmax(logits)_y; accuracy = share of rows whose largest
// plain cosine is the label's.
//
// [Full derivation of the backward in margin_softmax_cpu.cc.]
#pragma once

#include <torch/torch.h>

#include <tuple>

namespace sphereface {

enum class MarginKind { kSphere, kCos, kArc };

// Every field is set by the caller (lib/ passes them all; CheckMarginHead judges them).
struct MarginHead {
  MarginKind kind = MarginKind::kSphere;
  double m = 0;       // integer 1..6 for sphere; the additive margin for cos and arc
  double scale = 0;   // s for cos and arc (unused by sphere, which keeps ||x||)
  double lambda = 0;  // sphere's annealing weight (unused by cos and arc)
};

// Throws c10::Error (TORCH_CHECK) naming the bad field.
void CheckMarginHead(const MarginHead& head);

// The loss as a libtorch autograd Function: differentiable with respect to `features` and
// `weight` (analytic backward, no graph over B x C temporaries). Returns (loss, accuracy):
// 0-dim tensors on the inputs' device, loss in the features' dtype, accuracy in float64 (a share
// of rows, so 1/7 stays 1/7) and without gradient.
// features: B x D float, weight: C x D float, labels: B int64 or int32, all on one device.
std::tuple<torch::Tensor, torch::Tensor> MarginSoftmaxLoss(const torch::Tensor& features,
                                                           const torch::Tensor& weight,
                                                           const torch::Tensor& labels,
                                                           const MarginHead& head);

}  // namespace sphereface

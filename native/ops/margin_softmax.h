// The fused margin-softmax loss: SphereFace A-Softmax, CosFace, ArcFace and the plain softmax
// in one op.
//
// Inputs: features x (B x D), weight W (C x D, rows normalised inside the op, no bias; softmax
// alone takes a bias b (C) and normalises nothing), labels y (B). With
// cos_j = <x, W_j> / (||x|| ||W_j||) and t_j = acos(cos_j):
//   sphere (integer m in 1..6, lambda >= 0):
//     logit_j = ||x|| cos_j                                   for j != y
//     logit_y = ||x|| (lambda cos_y + psi(t_y)) / (1 + lambda)
//     psi(t) = (-1)^k cos(m t) - 2k  for t in [k pi/m, (k+1) pi/m], cos(m t) by Chebyshev
//   cos (CosFace, scale s, margin m):  logit_j = s cos_j,  logit_y = s (cos_y - m)
//   arc (ArcFace, scale s, margin m):  logit_j = s cos_j,
//     logit_y = s cos(t_y + m) where t_y + m <= pi, else s (cos_y - m sin(m));
//     with the easy margin: s cos(t_y + m) where cos_y > 0, else s cos_y
//   softmax (a linear layer and cross-entropy):  logit_j = <x, W_j> + b_j
// loss = mean over rows of -log softmax(logits)_y; accuracy = share of rows whose largest
// plain cosine (softmax: plain logit) is the label's.
//
// [Full derivation of the backward in margin_softmax_cpu.cc.]
#pragma once

#include <torch/torch.h>

#include <tuple>

namespace sphereface {

// The values are stored in model files: append, never renumber.
enum class MarginKind { kSphere, kCos, kArc, kSoftmax };

// Every field is set by the caller (lib/ passes them all; CheckMarginHead judges them).
struct MarginHead {
  MarginKind kind = MarginKind::kSphere;
  double m = 0;       // integer 1..6 for sphere; the additive margin for cos and arc; 0 for softmax
  double scale = 0;   // s for cos and arc (unused by sphere, which keeps ||x||, and softmax)
  double lambda = 0;  // sphere's annealing weight (unused by the others)
  bool easy_margin = false;  // arc only: the margin where cos_y > 0 alone
};

// Throws c10::Error (TORCH_CHECK) naming the bad field.
void CheckMarginHead(const MarginHead& head);

// The loss as a libtorch autograd Function: differentiable with respect to `features`,
// `weight` and `bias` (analytic backward, no graph over B x C temporaries). Returns
// (loss, accuracy): 0-dim tensors on the inputs' device, loss in the features' dtype, accuracy in
// float64 (a share of rows, so 1/7 stays 1/7) and without gradient.
// features: B x D float, weight: C x D float, labels: B int64 or int32, bias: C float for the
// softmax head and undefined for the others, all on one device. Without the CUDA kernels in the
// build, CUDA inputs run the CPU kernel on copies.
std::tuple<torch::Tensor, torch::Tensor> MarginSoftmaxLoss(const torch::Tensor& features,
                                                           const torch::Tensor& weight,
                                                           const torch::Tensor& labels,
                                                           const MarginHead& head,
                                                           const torch::Tensor& bias = {});

// Whether this build runs the loss on CUDA tensors with its own CUDA kernel (true) or the CPU
// kernel on copies (false).
bool MarginSoftmaxHasCudaKernels();

}  // namespace sphereface

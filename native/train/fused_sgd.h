// SGD with momentum, weight decay and the Nesterov option in one pass per parameter tensor.
// Same update as torch.optim.SGD (dampening 0):
//   d = g + wd * p;  buf = momentum * buf + d;  step = nesterov ? d + momentum * buf : buf;
//   p -= lr * step
// PyTorch's default CPU SGD runs this as ~5 element-wise kernels per tensor, each reading and
// writing the whole tensor; here each element is loaded and stored once.
#pragma once

#include <torch/torch.h>

namespace sphereface {

struct SgdOptions {
  double lr = 0;
  double momentum = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

// The largest magnitude an update may leave in a weight or a momentum buffer: sqrt(FLT_MAX),
// rounded down. The margin head's row norms and the features' norms are sums of squares, so a
// larger weight makes every later loss NaN even while the weight itself is finite.
constexpr float kLargestUsableWeight = 1.8446742e19f;

// Updates `param` and `momentum_buffer` in place from `grad` (same shape, dtype float, one device).
// `weight_decay` here is the value for this tensor (0 for the ones excluded from decay).
void FusedSgdStep(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& momentum_buffer,
                  double lr, double momentum, double weight_decay, bool nesterov);

// Whether FusedSgdStep with the same arguments would keep every value of `param` and
// `momentum_buffer` within +-kLargestUsableWeight (so finite). Reads only: a step checks every
// tensor first and updates none when one fails.
bool FusedSgdStepKeepsUsable(const torch::Tensor& param, const torch::Tensor& grad,
                             const torch::Tensor& momentum_buffer, double lr, double momentum,
                             double weight_decay, bool nesterov);

}  // namespace sphereface

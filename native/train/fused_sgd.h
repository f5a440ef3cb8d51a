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
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  bool nesterov = false;
};

// Updates `param` and `momentum_buffer` in place from `grad` (same shape, dtype float, one device).
// `weight_decay` here is the value for this tensor (0 for the ones excluded from decay).
void FusedSgdStep(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& momentum_buffer,
                  double lr, double momentum, double weight_decay, bool nesterov);

}  // namespace sphereface

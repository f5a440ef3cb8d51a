#include "train/fused_sgd.h"

#include <ATen/Parallel.h>

namespace sphereface {

void FusedSgdStep(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& momentum_buffer,
                  double lr, double momentum, double weight_decay, bool nesterov) {
  TORCH_CHECK(param.sizes() == grad.sizes() && param.sizes() == momentum_buffer.sizes(),
              "parameter, gradient and momentum buffer shapes differ");
  torch::NoGradGuard no_grad;
  if (!param.is_cpu() || !param.is_contiguous() || !grad.is_contiguous() ||
      !momentum_buffer.is_contiguous() || param.scalar_type() != torch::kFloat32) {
    // CUDA (and any odd layout): the same maths with libtorch's element-wise kernels.
    torch::Tensor d = weight_decay != 0 ? grad.add(param, weight_decay) : grad;
    momentum_buffer.mul_(momentum).add_(d);
    if (nesterov) {
      param.sub_(d.add(momentum_buffer, momentum), lr);
    } else {
      param.sub_(momentum_buffer, lr);
    }
    return;
  }
  float* p = param.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* buf = momentum_buffer.data_ptr<float>();
  const float f_lr = static_cast<float>(lr), f_mom = static_cast<float>(momentum),
              f_wd = static_cast<float>(weight_decay);
  at::parallel_for(0, param.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    if (nesterov) {
      for (int64_t i = begin; i < end; ++i) {
        const float d = g[i] + f_wd * p[i];
        const float b = f_mom * buf[i] + d;
        buf[i] = b;
        p[i] -= f_lr * (d + f_mom * b);
      }
    } else {
      for (int64_t i = begin; i < end; ++i) {
        const float b = f_mom * buf[i] + g[i] + f_wd * p[i];
        buf[i] = b;
        p[i] -= f_lr * b;
      }
    }
  });
}

}  // namespace sphereface

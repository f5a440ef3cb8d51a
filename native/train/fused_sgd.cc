#include "train/fused_sgd.h"

#include <ATen/Parallel.h>

namespace sphereface {

void FusedSgdStep(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& momentum_buffer,
                  double lr, double momentum, double weight_decay, bool nesterov) {
  TORCH_CHECK(param.sizes() == grad.sizes() && param.sizes() == momentum_buffer.sizes(),
              "parameter, gradient and momentum buffer shapes differ");
  torch::NoGradGuard no_grad;
  // The raw loop needs the three tensors dense with one layout (contiguous or channels-last
  // alike); they are, as buffers are made with empty_like and autograd lays grads out as params.
  const bool same_dense_layout = param.is_non_overlapping_and_dense() &&
                                 grad.strides() == param.strides() &&
                                 momentum_buffer.strides() == param.strides();
  if (!param.is_cpu() || !same_dense_layout || param.scalar_type() != torch::kFloat32 ||
      grad.scalar_type() != torch::kFloat32 || momentum_buffer.scalar_type() != torch::kFloat32) {
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
  // data_ptr is the lowest address of a dense tensor whatever its layout; element i of each
  // tensor below is the same logical element because the strides are equal.
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

#include "train/fused_sgd.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>

namespace sphereface {

namespace {

// The raw loop needs the three tensors dense with one layout (contiguous or channels-last alike);
// they are, as buffers are made with empty_like and autograd lays grads out as params.
bool RawLoopApplies(const torch::Tensor& param, const torch::Tensor& grad,
                    const torch::Tensor& momentum_buffer) {
  return param.is_cpu() && param.is_non_overlapping_and_dense() &&
         grad.strides() == param.strides() && momentum_buffer.strides() == param.strides() &&
         param.scalar_type() == torch::kFloat32 && grad.scalar_type() == torch::kFloat32 &&
         momentum_buffer.scalar_type() == torch::kFloat32;
}

bool Usable(float value) { return std::abs(value) <= kLargestUsableWeight; }  // false for NaN

// One pass of the update over elements [begin, end): stores the new values when kApply, else
// only tells whether they all stay usable. Both passes compute the same float expressions.
template <bool kNesterov, bool kApply>
bool UpdateRange(float* p, const float* g, float* buf, int64_t begin, int64_t end, float lr,
                 float mom, float wd) {
  int unusable = 0;
#pragma omp simd reduction(| : unusable)
  for (int64_t i = begin; i < end; ++i) {
    float b, step;
    if (kNesterov) {
      const float d = g[i] + wd * p[i];
      b = mom * buf[i] + d;
      step = d + mom * b;
    } else {
      b = mom * buf[i] + g[i] + wd * p[i];
      step = b;
    }
    const float updated = p[i] - lr * step;
    if (kApply) {
      buf[i] = b;
      p[i] = updated;
    } else {
      unusable |= !(Usable(updated) && Usable(b));
    }
  }
  return unusable == 0;
}

template <bool kApply>
bool RawUpdate(const torch::Tensor& param, const torch::Tensor& grad,
               const torch::Tensor& momentum_buffer, double lr, double momentum,
               double weight_decay, bool nesterov) {
  // data_ptr is the lowest address of a dense tensor whatever its layout; element i of each
  // tensor below is the same logical element because the strides are equal.
  float* p = param.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* buf = momentum_buffer.data_ptr<float>();
  const float f_lr = static_cast<float>(lr), f_mom = static_cast<float>(momentum),
              f_wd = static_cast<float>(weight_decay);
  std::atomic<bool> usable{true};
  at::parallel_for(0, param.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    const bool ok = nesterov ? UpdateRange<true, kApply>(p, g, buf, begin, end, f_lr, f_mom, f_wd)
                             : UpdateRange<false, kApply>(p, g, buf, begin, end, f_lr, f_mom, f_wd);
    if (!ok) usable = false;
  });
  return usable;
}

// CUDA (and any odd layout): the same maths with libtorch's element-wise kernels, which compute
// the same values in place and out of place.
torch::Tensor DecayedGrad(const torch::Tensor& param, const torch::Tensor& grad,
                          double weight_decay) {
  return weight_decay != 0 ? grad.add(param, weight_decay) : grad;
}

}  // namespace

void FusedSgdStep(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& momentum_buffer,
                  double lr, double momentum, double weight_decay, bool nesterov) {
  TORCH_CHECK(param.sizes() == grad.sizes() && param.sizes() == momentum_buffer.sizes(),
              "parameter, gradient and momentum buffer shapes differ");
  torch::NoGradGuard no_grad;
  if (RawLoopApplies(param, grad, momentum_buffer)) {
    RawUpdate<true>(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov);
    return;
  }
  torch::Tensor d = DecayedGrad(param, grad, weight_decay);
  momentum_buffer.mul_(momentum).add_(d);
  param.sub_(nesterov ? d.add(momentum_buffer, momentum) : momentum_buffer, lr);
}

bool FusedSgdStepKeepsUsable(const torch::Tensor& param, const torch::Tensor& grad,
                             const torch::Tensor& momentum_buffer, double lr, double momentum,
                             double weight_decay, bool nesterov) {
  TORCH_CHECK(param.sizes() == grad.sizes() && param.sizes() == momentum_buffer.sizes(),
              "parameter, gradient and momentum buffer shapes differ");
  torch::NoGradGuard no_grad;
  if (RawLoopApplies(param, grad, momentum_buffer)) {
    return RawUpdate<false>(param, grad, momentum_buffer, lr, momentum, weight_decay, nesterov);
  }
  torch::Tensor d = DecayedGrad(param, grad, weight_decay);
  torch::Tensor buffer = momentum_buffer.mul(momentum).add(d);
  torch::Tensor updated = param.sub(nesterov ? d.add(buffer, momentum) : buffer, lr);
  return updated.abs().le(kLargestUsableWeight).all().item<bool>() &&
         buffer.abs().le(kLargestUsableWeight).all().item<bool>();
}

}  // namespace sphereface

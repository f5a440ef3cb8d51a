#include "train/fused_sgd.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>

#include "common/vector_clones.h"

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

// The step's new momentum and weight for element i, the same float expressions in every pass.
template <bool kNesterov>
SPHEREFACE_ALWAYS_INLINE void Updated(const float* p, const float* g, const float* buf, int64_t i,
                                      float lr, float mom, float wd, float& b, float& updated) {
  float step;
  if (kNesterov) {
    const float d = g[i] + wd * p[i];
    b = mom * buf[i] + d;
    step = d + mom * b;
  } else {
    b = mom * buf[i] + g[i] + wd * p[i];
    step = b;
  }
  updated = p[i] - lr * step;
}

// Whether the update keeps elements [begin, end) usable. First a plain sum of |b| + |updated|:
// a sum of non-negative floats rounds to at least each of its terms, so a sum within the bound
// shows every term is (NaN and infinity fail it). Only when it fails does an exact pass decide;
// the sum vectorises fully, which the exact pass's per-element verdicts do not.
template <bool kNesterov>
SPHEREFACE_ALWAYS_INLINE bool KeepsUsable(const float* __restrict p, const float* __restrict g,
                                          const float* __restrict buf, int64_t begin, int64_t end,
                                          float lr, float mom, float wd) {
  float total = 0;
#pragma omp simd reduction(+ : total)
  for (int64_t i = begin; i < end; ++i) {
    float b, updated;
    Updated<kNesterov>(p, g, buf, i, lr, mom, wd, b, updated);
    total += std::abs(updated) + std::abs(b);
  }
  if (total <= kLargestUsableWeight) return true;
  for (int64_t i = begin; i < end; ++i) {
    float b, updated;
    Updated<kNesterov>(p, g, buf, i, lr, mom, wd, b, updated);
    if (!(Usable(updated) && Usable(b))) return false;
  }
  return true;
}

template <bool kNesterov>
SPHEREFACE_ALWAYS_INLINE void Apply(float* __restrict p, const float* __restrict g,
                                    float* __restrict buf, int64_t begin, int64_t end, float lr,
                                    float mom, float wd) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    float b, updated;
    Updated<kNesterov>(p, g, buf, i, lr, mom, wd, b, updated);
    buf[i] = b;
    p[i] = updated;
  }
}

SPHEREFACE_VECTOR_CLONES bool RangeKeepsUsable(const float* p, const float* g, const float* buf,
                                               int64_t begin, int64_t end, float lr, float mom,
                                               float wd, bool nesterov) {
  return nesterov ? KeepsUsable<true>(p, g, buf, begin, end, lr, mom, wd)
                  : KeepsUsable<false>(p, g, buf, begin, end, lr, mom, wd);
}

SPHEREFACE_VECTOR_CLONES void ApplyRange(float* p, const float* g, float* buf, int64_t begin,
                                         int64_t end, float lr, float mom, float wd,
                                         bool nesterov) {
  nesterov ? Apply<true>(p, g, buf, begin, end, lr, mom, wd)
           : Apply<false>(p, g, buf, begin, end, lr, mom, wd);
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
    if (kApply) {
      ApplyRange(p, g, buf, begin, end, f_lr, f_mom, f_wd, nesterov);
    } else if (!RangeKeepsUsable(p, g, buf, begin, end, f_lr, f_mom, f_wd, nesterov)) {
      usable = false;
    }
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

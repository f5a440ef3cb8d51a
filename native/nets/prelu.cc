#include "nets/prelu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace sphereface {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// The slope gradient of the channels-last backward is summed in this many fixed chunks of
// pixels, then over the chunks in order: the result does not depend on the thread count.
constexpr int64_t kSlopeChunks = 64;

// A tensor seen as N x C x S (contiguous) or N x S x C (channels-last), S the spatial size.
struct Layout {
  bool channels_last;
  int64_t batch, channels, spatial;
};

Layout LayoutOf(const torch::Tensor& x) {
  const int64_t batch = x.size(0), channels = x.size(1);
  const int64_t spatial = batch * channels == 0 ? 0 : x.numel() / (batch * channels);
  return {x.dim() == 4 && x.suggest_memory_format() == at::MemoryFormat::ChannelsLast, batch,
          channels, spatial};
}

at::MemoryFormat FormatOf(const Layout& layout) {
  return layout.channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
}

// The loops are written for `omp simd` over restrict pointers, with both sides of each select
// computed: otherwise GCC 12 leaves them scalar with a branch per element, which mispredicts on
// about half the activations (a sphere20 training step spent about 100 ms a step more).
template <typename T>
void ForwardRow(const T* __restrict in, const T* __restrict slope, T* __restrict out, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    const T scaled = slope[c] * in[c];
    out[c] = in[c] > 0 ? in[c] : scaled;
  }
}

template <typename T>
void ForwardKernel(const Layout& l, const T* x, const T* slope, T* y) {
  if (l.channels_last) {
    at::parallel_for(0, l.batch * l.spatial, 256, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        ForwardRow(x + p * l.channels, slope, y + p * l.channels, l.channels);
      }
    });
    return;
  }
  at::parallel_for(0, l.batch * l.channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const T a = slope[plane % l.channels];
      const T* __restrict in = x + plane * l.spatial;
      T* __restrict out = y + plane * l.spatial;
#pragma omp simd
      for (int64_t s = 0; s < l.spatial; ++s) {
        const T scaled = a * in[s];
        out[s] = in[s] > 0 ? in[s] : scaled;
      }
    }
  });
}

// One pixel of the channels-last backward: grad_x for its channels, and grad * x added to
// acc[c] where x <= 0. Two loops, because GCC 12 vectorises each alone but not the two in one.
template <typename T>
void BackwardRow(const T* __restrict g, const T* __restrict in, const T* __restrict slope,
                 T* __restrict out, double* __restrict acc, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    const T scaled = slope[c] * g[c];
    out[c] = in[c] > 0 ? g[c] : scaled;
  }
  // Both factors are zeroed where x > 0, so those elements add exactly 0.0 whatever g holds.
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) {
    const T input = in[c], upstream = g[c];
    const T g_negative = input > 0 ? T(0) : upstream, x_negative = input > 0 ? T(0) : input;
    acc[c] += static_cast<double>(g_negative) * static_cast<double>(x_negative);
  }
}

// grad_x = grad where x > 0, slope * grad elsewhere; grad_slope[c] = sum of grad * x over x <= 0.
template <typename T>
void BackwardKernel(const Layout& l, const T* grad, const T* x, const T* slope, T* grad_x,
                    T* grad_slope) {
  const int64_t channels = l.channels;
  if (l.channels_last) {
    const int64_t pixels = l.batch * l.spatial;
    const int64_t chunks = std::max<int64_t>(1, std::min(kSlopeChunks, pixels));
    std::vector<double> partial(chunks * channels, 0.0);
    at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
      for (int64_t chunk = begin; chunk < end; ++chunk) {
        double* acc = partial.data() + chunk * channels;
        for (int64_t p = pixels * chunk / chunks; p < pixels * (chunk + 1) / chunks; ++p) {
          BackwardRow(grad + p * channels, x + p * channels, slope, grad_x + p * channels, acc,
                      channels);
        }
      }
    });
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0;
      for (int64_t chunk = 0; chunk < chunks; ++chunk) sum += partial[chunk * channels + c];
      grad_slope[c] = static_cast<T>(sum);
    }
    return;
  }
  std::vector<double> per_plane(l.batch * channels, 0.0);
  at::parallel_for(0, l.batch * channels, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const T a = slope[plane % channels];
      const T* __restrict g = grad + plane * l.spatial;
      const T* __restrict in = x + plane * l.spatial;
      T* __restrict out = grad_x + plane * l.spatial;
      double acc = 0;
#pragma omp simd
      for (int64_t s = 0; s < l.spatial; ++s) {
        const T scaled = a * g[s];
        out[s] = in[s] > 0 ? g[s] : scaled;
      }
      for (int64_t s = 0; s < l.spatial; ++s) {
        if (!(in[s] > 0)) acc += static_cast<double>(g[s]) * in[s];
      }
      per_plane[plane] = acc;
    }
  });
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < l.batch; ++n) sum += per_plane[n * channels + c];
    grad_slope[c] = static_cast<T>(sum);
  }
}

class PreluFunction : public torch::autograd::Function<PreluFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& slope) {
    const Layout layout = LayoutOf(x);
    const torch::Tensor input = x.contiguous(FormatOf(layout));
    const torch::Tensor slope_c = slope.contiguous();
    torch::Tensor y = at::empty_like(input, FormatOf(layout));
    AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "Prelu", [&] {
      ForwardKernel<scalar_t>(layout, input.data_ptr<scalar_t>(), slope_c.data_ptr<scalar_t>(),
                              y.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({input, slope_c});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& input = saved[0];
    const torch::Tensor& slope = saved[1];
    const Layout layout = LayoutOf(input);
    const torch::Tensor grad = grads[0].contiguous(FormatOf(layout));
    torch::Tensor grad_x = at::empty_like(input, FormatOf(layout));
    torch::Tensor grad_slope = at::empty_like(slope);
    AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "PreluBackward", [&] {
      BackwardKernel<scalar_t>(layout, grad.data_ptr<scalar_t>(), input.data_ptr<scalar_t>(),
                               slope.data_ptr<scalar_t>(), grad_x.data_ptr<scalar_t>(),
                               grad_slope.data_ptr<scalar_t>());
    });
    return {grad_x, grad_slope};
  }
};

}  // namespace

torch::Tensor Prelu(const torch::Tensor& x, const torch::Tensor& slope) {
  const bool fused = x.is_cpu() && x.dim() >= 2 && slope.dim() == 1 && slope.numel() == x.size(1) &&
                     slope.scalar_type() == x.scalar_type() &&
                     (x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble);
  if (!fused) return at::prelu(x, slope);
  return PreluFunction::apply(x, slope);
}

void PreluBlockedInPlace(torch::Tensor& blocked, const torch::Tensor& slope) {
  TORCH_CHECK(
      blocked.is_cpu() && blocked.scalar_type() == at::kFloat && blocked.dim() == 5 &&
          blocked.is_contiguous() && slope.numel() == blocked.size(1) * blocked.size(4),
      "PreluBlockedInPlace: a contiguous float32 N x C/16 x H x W x 16 tensor and C slopes");
  const int64_t blocks = blocked.size(1), block = blocked.size(4);
  const int64_t pixels = blocked.size(2) * blocked.size(3);
  const torch::Tensor slope_c = slope.to(at::kFloat).contiguous();
  const float* a = slope_c.data_ptr<float>();
  float* x = blocked.data_ptr<float>();
  // One plane: H x W pixels of one block of channels, in one image.
  at::parallel_for(0, blocked.size(0) * blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const float* __restrict plane_slope = a + (plane % blocks) * block;
      float* __restrict p = x + plane * pixels * block;
      for (int64_t s = 0; s < pixels; ++s, p += block) {
#pragma omp simd
        for (int64_t c = 0; c < block; ++c) {
          const float scaled = plane_slope[c] * p[c];
          p[c] = p[c] > 0 ? p[c] : scaled;
        }
      }
    }
  });
}

}  // namespace sphereface

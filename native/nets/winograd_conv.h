// The residual units' 3x3 stride-1 convolutions through oneDNN's Winograd F(4x4, 3x3) kernels
// (forward, backward data and backward weights), which do the same work with about 2-3x fewer
// multiplies than the direct kernels libtorch calls: at sphere20's shapes each pass measured
// 2-3x faster on an AVX-512 CPU. Used when the addon was built against the same shared oneDNN
// that libtorch links (Debian's libtorch-dev with libdnnl-dev), the CPU has a Winograd kernel,
// the tensors are float32 on the CPU, and SPHEREFACE_WINOGRAD is not 0; at::conv2d otherwise.
#pragma once

#include <torch/torch.h>

namespace sphereface {

// conv2d(x, weight, padding 1) for a K x C x 3 x 3 weight, without bias.
torch::Tensor Conv3x3(const torch::Tensor& x, const torch::Tensor& weight);

// Whether Conv3x3 takes the Winograd path for these tensors.
bool UsesWinograd(const torch::Tensor& x, const torch::Tensor& weight);

// Whether Conv3x3 can take the Winograd path at all in this build and on this CPU.
bool WinogradAvailable();

}  // namespace sphereface

// sphere-cnn4's conv layers: 3x3 convs with stride 2, no padding and a bias, each followed by
// ReLU. Where oneDNN's blocked kernels are available (the build links the shared oneDNN libtorch
// links, the CPU has jit kernels for nChw16c, float32 on the CPU, every layer's output channels a
// multiple of 16, SPHEREFACE_BLOCKED_CONVS not 0), the activations stay in oneDNN's nChw16c layout
// from the first conv to the last, the ReLU is fused into each forward conv, and there is one
// reorder of the input and one of the result. These are the kernels PyTorch's NCHW path runs, less
// its reorders around every conv; at::conv2d on channels-last tensors gets oneDNN's NHWC kernels,
// which are slower here. A training step measured about 4 % faster than with at::conv2d
// (BENCHMARKS.md). Otherwise at::conv2d.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace sphereface {

struct ConvWithBias {
  torch::Tensor weight;  // K x C x 3 x 3
  torch::Tensor bias;    // K
};

// Runs `x` (N x C x H x W, NCHW or channels-last) through every layer (conv, stride 2, no
// padding, bias, ReLU) and returns the last layer's activations flattened per image in NCHW order
// (N x K*H*W), as `relu(conv2d(...)).flatten(1)` would.
torch::Tensor StridedConvReluStack(const torch::Tensor& x, const std::vector<ConvWithBias>& layers);

// Whether StridedConvReluStack takes the blocked oneDNN path for these tensors.
bool UsesBlockedConvs(const torch::Tensor& x, const std::vector<ConvWithBias>& layers);

// Whether the blocked path is available at all in this build and on this CPU.
bool BlockedConvsAvailable();

}  // namespace sphereface

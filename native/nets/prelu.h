// Per-channel PReLU as one autograd node with a one-pass backward: the input gradient and the
// slope gradient come from a single read of (grad, input), where libtorch 1.13's prelu_backward
// takes several passes (about 7 % of a sphere20 training step on CPU). CPU tensors of any memory
// format; other devices use at::prelu.
#pragma once

#include <torch/torch.h>

namespace sphereface {

// y = x where x > 0, slope[c] * x elsewhere; x is N x C x ... and slope has C entries.
torch::Tensor Prelu(const torch::Tensor& x, const torch::Tensor& slope);

// The same in place on a float32 N x C/16 x H x W x 16 tensor (oneDNN's nChw16c, as
// winograd_conv.h's blocked inference holds activations), without autograd.
void PreluBlockedInPlace(torch::Tensor& blocked, const torch::Tensor& slope);

}  // namespace sphereface

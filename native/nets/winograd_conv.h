// The residual units' 3x3 stride-1 convolutions through oneDNN's Winograd F(4x4, 3x3) kernels
// (forward, backward data and backward weights), which do the same work with about 2-3x fewer
// multiplies than the direct kernels libtorch calls: at sphere20's shapes each pass measured
// 2-3x faster on an AVX-512 CPU. Used when the addon was built against the same shared oneDNN
// that libtorch links (Debian's libtorch-dev with libdnnl-dev), the CPU has a Winograd kernel,
// the tensors are float32 on the CPU, and SPHEREFACE_WINOGRAD is not 0; at::conv2d otherwise.
//
// Which path, by shape and batch:
// - Training (and any call without a conv weight cache in use): oneDNN's training kernels, which
//   transform the weights inside every call, in chunks of up to 8 images, where every pass's
//   scratchpad stays within 48 MB (not sphere20's 512-channel 7 x 6 stage at 8 images).
// - model.embed (a ConvWeightCache in use, no autograd): oneDNN's inference kernels, whose
//   weights are transformed once and kept until the weights change (conv_weight_cache.h), at every
//   shape they exist for within the same scratchpad bound; at one image that includes the 7 x 6
//   stage (F(2x2, 3x3) kernels there and at 14 x 12). Measured on sphere20, batch 1, AMD EPYC:
//   20.5-22 ms a call against 23.6-24 ms without the 7 x 6 stage and 26-31 ms direct throughout
//   (BENCHMARKS.md, `npm run bench -- embed`). Training kernels at one image lose to the direct
//   ones: their per-call weight transform costs about a forward.
#pragma once

#include <torch/torch.h>

namespace sphereface {

// conv2d(x, weight, padding 1) for a K x C x 3 x 3 weight, without bias.
torch::Tensor Conv3x3(const torch::Tensor& x, const torch::Tensor& weight);

// Whether Conv3x3 takes the Winograd path for these tensors: in training, or (`inference`) in
// model.embed.
bool UsesWinograd(const torch::Tensor& x, const torch::Tensor& weight, bool inference = false);

// model.embed's residual stages on activations kept in oneDNN's nChw16c layout, held as
// N x C/16 x H x W x 16 tensors ("blocked"): the inference kernels read and write that layout, so
// a stage reorders its input and its result once rather than around every conv (at one image,
// about 125 reorders a sphere64 call, 5 of its 80 ms on an AMD EPYC).
// Whether x (N x C x H x W) and a square residual weight (C x C x 3 x 3) take that path: a conv
// weight cache in use, no autograd, and Winograd inference kernels that use nChw16c for this
// shape and batch.
bool UsesBlockedInference(const torch::Tensor& x, const torch::Tensor& weight);
torch::Tensor ToBlocked(const torch::Tensor& x);
torch::Tensor FromBlocked(const torch::Tensor& blocked, at::MemoryFormat format);
// Conv3x3 on a blocked tensor; the result is blocked too. Only where UsesBlockedInference holds.
torch::Tensor Conv3x3Blocked(const torch::Tensor& blocked, const torch::Tensor& weight);

// Whether Conv3x3 can take the Winograd path at all in this build and on this CPU.
bool WinogradAvailable();

}  // namespace sphereface

// Batch preparation for the nets: uint8 N x H x W x 3 (RGB, as decoded) -> float N x 3 x H x W,
// (x - mean) / std, each image mirrored horizontally where its flip mask is nonzero. One pass
// over the bytes, parallel over images, so no intermediate float NHWC copy is ever made.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace sphereface {

// (x - mean) / std; the values come from lib/ (TypeScript owns the defaults) or a model file.
struct Normalisation {
  double mean = 0;
  double std = 1;
};

// `images` holds n * height * width * 3 bytes; `flip` is null or holds n bytes.
// The result is a CPU float tensor of shape n x 3 x H x W, laid out channels-last (NHWC in memory,
// the input's own order, so the pass is a straight stream) or contiguous NCHW.
torch::Tensor PrepareBatch(const uint8_t* images, int64_t n, int64_t height, int64_t width,
                           const uint8_t* flip, const Normalisation& normalisation,
                           bool channels_last = false);

}  // namespace sphereface

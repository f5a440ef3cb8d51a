// [async] benchMarginSoftmax({batch, dim, classes, threads, repeats, seedRepeats, kind, m,
//   scale, lambda}): internal, for bench/margin-softmax.bench.ts. Times forward + backward side
//   by side, interleaved in each repeat: the three GEMMs the op cannot avoid, the fused op, the
//   best composition of libtorch autograd ops, and the seed's loss written the seed's way. Also
//   measures each one's peak extra CPU memory with a counting allocator. Resolves to
//   {gemms, fused, composed, seed: number[] (ms), peakBytes: {gemms, fused, composed, seed}
//   (for the losses: beyond the inputs and the two gradients they return),
//   outputBytes, bufferBytes, threads}.
#pragma once

#include <napi.h>

namespace sphereface {

Napi::Value BenchMarginSoftmaxBinding(const Napi::CallbackInfo& info);

}  // namespace sphereface

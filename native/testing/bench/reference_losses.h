// The losses the fused op is benchmarked against, built from libtorch autograd ops:
// - ComposedMarginLoss: the same maths as MarginSoftmaxLoss composed as well as we can
//   (normalise W, one matmul, gather/scatter of the target column, cross-entropy);
// - SeedMarginLoss: the seed's AngularPenaltySMLoss written the seed's way (W never normalised,
//   cos(m acos c) without psi's intervals, a B x B gather for the target, a per-sample loop).
#pragma once

#include <torch/torch.h>

#include "ops/margin_softmax.h"

namespace sphereface {

torch::Tensor ComposedMarginLoss(const torch::Tensor& features, const torch::Tensor& weight,
                                 const torch::Tensor& labels, const MarginHead& head);

torch::Tensor SeedMarginLoss(const torch::Tensor& features, const torch::Tensor& weight,
                             const torch::Tensor& labels, double m);

}  // namespace sphereface

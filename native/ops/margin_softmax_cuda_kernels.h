// Launchers of the fused margin-softmax loss's CUDA kernels (margin_softmax_cuda.cu): raw device
// pointers and the CUDA runtime only, so the kernels build with plain nvcc. The glue in
// margin_softmax_cuda.cc runs the GEMMs and calls these on the current stream.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "ops/margin_math.h"

namespace sphereface {

// Forward per row: `exps` holds G = x W^T on entry and exp(z - zmax) on exit; writes row_stats
// (B x margin::kRowStatCount, see margin_math.h), row_loss and correct (B each). `bias` (C) is
// the softmax head's, null for the others.
template <typename T>
cudaError_t LaunchMarginForward(T* exps, const double* feature_norms, const T* weight_norms,
                                const T* bias, const int64_t* labels, int64_t batch,
                                int64_t classes, margin::HeadParams head, double* row_stats,
                                double* row_loss, double* correct, cudaStream_t stream);

// Backward per row: k = dL/dG (B x C) and, for sphere, d_factor = dL/d||x_i|| (B).
// grad_loss points at the loss's incoming gradient (one T on the device).
template <typename T>
cudaError_t LaunchMarginBackward(const T* exps, const T* weight_norms, const int64_t* labels,
                                 const double* row_stats, const T* grad_loss, int64_t batch,
                                 int64_t classes, bool sphere, T* k, double* d_factor,
                                 cudaStream_t stream);

// grad_r += (-[n_r > eps] <grad_r, v_r> / n_r^2 + [n_r > 0] d_norm_r / n_r) v_r for each row r;
// d_norm may be null.
template <typename T>
cudaError_t LaunchAddNormGradients(T* grad, const T* rows, const double* norms,
                                   const double* d_norm, int64_t count, int64_t dim,
                                   cudaStream_t stream);

}  // namespace sphereface

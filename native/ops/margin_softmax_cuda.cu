// The fused margin-softmax loss's per-row passes on CUDA: one block per row, the same maths as
// the CPU kernel (margin_softmax_cpu.cc has the derivation) through ops/margin_math.h.
#include <cuda_runtime.h>

#include <cfloat>
#include <cstdint>

#include "ops/margin_math.h"
#include "ops/margin_softmax_cuda_kernels.h"

namespace sphereface {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float DeviceExp(float x) { return expf(x); }
__device__ __forceinline__ double DeviceExp(double x) { return exp(x); }

struct MaxOp {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};
struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

// Reduces one value per thread of the block; every thread gets the result.
template <typename Op>
__device__ double BlockReduce(double value, double* scratch, Op op) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride)
      scratch[threadIdx.x] = op(scratch[threadIdx.x], scratch[threadIdx.x + stride]);
    __syncthreads();
  }
  const double result = scratch[0];
  __syncthreads();
  return result;
}

template <typename T>
__device__ __forceinline__ T InvNorm(T norm) {
  return T(1) / (norm > T(margin::kNormEps) ? norm : T(margin::kNormEps));
}

template <typename T>
__global__ void ForwardKernel(T* exps, const double* feature_norms, const T* weight_norms,
                              const int64_t* labels, int64_t classes, margin::HeadParams head,
                              double* row_stats, double* row_loss, double* correct) {
  __shared__ double scratch[kThreads];
  const int64_t i = blockIdx.x;
  T* row = exps + i * classes;
  const int64_t y = labels[i];
  const double norm = feature_norms[i];
  const double inv_a = 1.0 / (norm > margin::kNormEps ? norm : margin::kNormEps);
  const T scale = static_cast<T>(inv_a);

  // Pass 1: cosines and the largest plain cosine before and after the label.
  double max_before = -DBL_MAX, max_after = -DBL_MAX;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    T c = row[j] * scale * InvNorm(weight_norms[j]);
    c = c < T(-1) ? T(-1) : (c > T(1) ? T(1) : c);
    row[j] = c;
    if (j < y) max_before = max_before > c ? max_before : c;
    if (j > y) max_after = max_after > c ? max_after : c;
  }
  max_before = BlockReduce(max_before, scratch, MaxOp());
  max_after = BlockReduce(max_after, scratch, MaxOp());
  // row[y] was written by its thread before the reductions' barriers.
  const double cos_y = static_cast<double>(row[y]);
  const double f = margin::RowFactor(head, norm);
  const margin::TargetLogit target = margin::TargetUnit(head, cos_y);
  const double z_y = f * target.unit;
  const double max_other = max_before > max_after ? max_before : max_after;
  // Exponents as f (c_j - c_max): the difference first, so the largest's is exactly 0 (see
  // margin_softmax_cpu.cc).
  const bool other_wins = classes > 1 && f * max_other > z_y;
  const double c_max = other_wins ? max_other : target.unit;
  const double z_max = other_wins ? f * c_max : z_y;

  // Pass 2: exponentials over the cosines, their sum, and the exp-weighted plain cosines.
  const T tf = static_cast<T>(f), tc = static_cast<T>(c_max);
  double sum = 0, weighted = 0;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    if (j == y) continue;
    const T c = row[j];
    const T d = tf * (c - tc);
    const T e = DeviceExp(d < T(0) ? d : T(0));
    row[j] = e;
    sum += e;
    weighted += static_cast<double>(e) * c;
  }
  sum = BlockReduce(sum, scratch, SumOp());
  weighted = BlockReduce(weighted, scratch, SumOp());
  if (threadIdx.x == 0) {
    const double e_y = exp(z_y - z_max);
    row[y] = static_cast<T>(e_y);
    const double total = sum + e_y;
    row_loss[i] = margin::FinishRow(row_stats + i * margin::kRowStatCount, norm, inv_a, f, target,
                                    cos_y, z_y, z_max, total, weighted + e_y * cos_y);
    // The first largest cosine wins ties, as argmax does.
    correct[i] = (cos_y > max_before && cos_y >= max_after) ? 1.0 : 0.0;
  }
}

template <typename T>
__global__ void BackwardKernel(const T* exps, const T* weight_norms, const int64_t* labels,
                               const double* row_stats, const T* grad_loss, int64_t batch,
                               int64_t classes, bool sphere, T* k, double* d_factor) {
  const int64_t i = blockIdx.x;
  const int64_t y = labels[i];
  const double* stats = row_stats + i * margin::kRowStatCount;
  const double g = static_cast<double>(*grad_loss) / static_cast<double>(batch);
  const double f = stats[margin::kRowFactor], inv_a = stats[margin::kRowInvNorm],
               inv_sum = stats[margin::kRowInvSum];
  const T coef = static_cast<T>(g * f * inv_a * inv_sum);
  const T* e = exps + i * classes;
  T* out = k + i * classes;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) {
    if (j != y) out[j] = coef * e[j] * InvNorm(weight_norms[j]);
  }
  if (threadIdx.x == 0) {
    const double p_y = static_cast<double>(e[y]) * inv_sum;
    out[y] = static_cast<T>(g * f * stats[margin::kRowDUnit] * (p_y - 1) * inv_a *
                            static_cast<double>(InvNorm(weight_norms[y])));
    const double unit = stats[margin::kRowUnit];
    d_factor[i] =
        sphere
            ? g * (stats[margin::kRowMeanCos] + p_y * (unit - stats[margin::kRowTargetCos]) - unit)
            : 0;
  }
}

template <typename T>
__global__ void NormGradientKernel(T* grad, const T* rows, const double* norms,
                                   const double* d_norm, int64_t dim) {
  __shared__ double scratch[kThreads];
  const int64_t r = blockIdx.x;
  T* out = grad + r * dim;
  const T* v = rows + r * dim;
  double dot = 0;
  for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) dot += static_cast<double>(out[k]) * v[k];
  dot = BlockReduce(dot, scratch, SumOp());
  const double n = norms[r];
  if (!(n > 0)) return;  // a zero row: neither term applies
  const double scale = margin::NormGradientScale(dot, n, d_norm != nullptr ? d_norm[r] : 0.0);
  if (scale == 0) return;
  // scale times the unit row: no factor underflows however long the row (as on CPU).
  const T s = static_cast<T>(scale), norm = static_cast<T>(n);
  for (int64_t k = threadIdx.x; k < dim; k += blockDim.x) out[k] += s * (v[k] / norm);
}

}  // namespace

template <typename T>
cudaError_t LaunchMarginForward(T* exps, const double* feature_norms, const T* weight_norms,
                                const int64_t* labels, int64_t batch, int64_t classes,
                                margin::HeadParams head, double* row_stats, double* row_loss,
                                double* correct, cudaStream_t stream) {
  ForwardKernel<T><<<static_cast<unsigned>(batch), kThreads, 0, stream>>>(
      exps, feature_norms, weight_norms, labels, classes, head, row_stats, row_loss, correct);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchMarginBackward(const T* exps, const T* weight_norms, const int64_t* labels,
                                 const double* row_stats, const T* grad_loss, int64_t batch,
                                 int64_t classes, bool sphere, T* k, double* d_factor,
                                 cudaStream_t stream) {
  BackwardKernel<T><<<static_cast<unsigned>(batch), kThreads, 0, stream>>>(
      exps, weight_norms, labels, row_stats, grad_loss, batch, classes, sphere, k, d_factor);
  return cudaGetLastError();
}

template <typename T>
cudaError_t LaunchAddNormGradients(T* grad, const T* rows, const double* norms,
                                   const double* d_norm, int64_t count, int64_t dim,
                                   cudaStream_t stream) {
  NormGradientKernel<T>
      <<<static_cast<unsigned>(count), kThreads, 0, stream>>>(grad, rows, norms, d_norm, dim);
  return cudaGetLastError();
}

#define SPHEREFACE_INSTANTIATE(T)                                                                 \
  template cudaError_t LaunchMarginForward<T>(T*, const double*, const T*, const int64_t*,        \
                                              int64_t, int64_t, margin::HeadParams, double*,      \
                                              double*, double*, cudaStream_t);                    \
  template cudaError_t LaunchMarginBackward<T>(const T*, const T*, const int64_t*, const double*, \
                                               const T*, int64_t, int64_t, bool, T*, double*,     \
                                               cudaStream_t);                                     \
  template cudaError_t LaunchAddNormGradients<T>(T*, const T*, const double*, const double*,      \
                                                 int64_t, int64_t, cudaStream_t);
SPHEREFACE_INSTANTIATE(float)
SPHEREFACE_INSTANTIATE(double)
#undef SPHEREFACE_INSTANTIATE

}  // namespace sphereface

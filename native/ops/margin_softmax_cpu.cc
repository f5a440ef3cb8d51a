// The fused margin-softmax loss on CPU: one GEMM and one pass per row forward, one pass per row
// and two GEMMs backward.
//
// Backward, derived. Let a_i = max(||x_i||, eps), b_j = max(||W_j||, eps), G = x W^T, so
// cos_ij = G_ij / (a_i b_j), and z_ij = f_i u_ij (see margin_math.h). With g = dL/dloss / B and
// p the softmax of z, dL/dz_ij = g (p_ij - [j = y_i]), and
//   H_ij = dL/dcos_ij = dL/dz_ij f_i du_ij/dcos_ij  (du/dcos = 1 off the target),
//   K_ij = dL/dG_ij   = H_ij / (a_i b_j).
// The norms also depend on x and W: dL/da_i = -sum_j H_ij cos_ij / a_i, and since
// H_ij cos_ij = K_ij G_ij, sum_j H_ij cos_ij = <(K W)_i, x_i>; likewise for b_j with
// <(K^T x)_j, W_j>. So with Q = K W and P = K^T x (the two gradient GEMMs),
//   dL/dx_i = Q_i - [||x_i|| > eps] <Q_i, x_i> x_i / ||x_i||^2 + dL/df_i x_i / ||x_i||,
//   dL/dW_j = P_j - [||W_j|| > eps] <P_j, W_j> W_j / ||W_j||^2,
// where the last term is sphere's only (f_i = ||x_i||): dL/df_i = sum_j dL/dz_ij u_ij.
// No column reduction over B x C is needed, and the only B x C buffers are the one forward keeps
// (exp(z - zmax), from which p is one multiply) and K.
// Softmax: z_ij = G_ij + b_j, i.e. a = b = f = 1, u the identity and no norm terms, so
// K = dL/dz, dL/dx = K W, dL/dW = K^T x, and dL/db_j = sum_i K_ij (its one column reduction).
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/sum_of_squares.h"
#include "common/vector_clones.h"
#include "ops/margin_softmax_impl.h"

namespace sphereface {

namespace {

using margin::HeadParams;
using margin::kNormEps;

// Rows of about this many elements per parallel task.
int64_t RowGrain(int64_t columns) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, columns));
}

template <typename T>
SPHEREFACE_ALWAYS_INLINE double RowNorm(const T* v, int64_t dim) {
  return std::sqrt(SumOfSquares(v, dim));
}

// Column j's plain cosine from G_ij; for softmax (kLinear) the plain logit G_ij + b_j.
template <bool kLinear, typename T>
SPHEREFACE_ALWAYS_INLINE T PlainUnit(T product, T scale, T inv_b, const T* bias, int64_t j) {
  if (kLinear) return product + bias[j];
  return std::min<T>(T(1), std::max<T>(T(-1), product * scale * inv_b));
}

// Forward for row i: `row` holds G_i on entry and exp(z_i - zmax_i) on exit. `bias` is null
// unless kLinear (the softmax head).
template <bool kLinear, typename T>
SPHEREFACE_ALWAYS_INLINE void ForwardRow(T* row, int64_t classes, const T* inv_b, const T* bias,
                                         const T* x, int64_t dim, int64_t label,
                                         const HeadParams& head, double* stats, double* row_loss,
                                         double* correct) {
  const double norm = RowNorm(x, dim);
  const double inv_a = margin::InverseNorm(head, norm);
  const T scale = static_cast<T>(inv_a);
  const T lowest = -std::numeric_limits<T>::infinity();

  // Pass 1: cosines, and the largest plain cosine before and after the label.
  T max_before = lowest, max_after = lowest;
#pragma omp simd reduction(max : max_before)
  for (int64_t j = 0; j < label; ++j) {
    const T c = PlainUnit<kLinear>(row[j], scale, inv_b[j], bias, j);
    row[j] = c;
    max_before = std::max(max_before, c);
  }
#pragma omp simd reduction(max : max_after)
  for (int64_t j = label + 1; j < classes; ++j) {
    const T c = PlainUnit<kLinear>(row[j], scale, inv_b[j], bias, j);
    row[j] = c;
    max_after = std::max(max_after, c);
  }
  const T cos_y = PlainUnit<kLinear>(row[label], scale, inv_b[label], bias, label);
  // The first largest cosine wins ties, as argmax does.
  *correct = (cos_y > max_before && cos_y >= max_after) ? 1.0 : 0.0;

  const double f = margin::RowFactor(head, norm);
  const margin::TargetLogit target = margin::TargetUnit(head, static_cast<double>(cos_y));
  const double z_y = f * target.unit;
  const T max_other = std::max(max_before, max_after);
  // Exponents as f (c_j - c_max), c_max the unit logit of the largest logit: the difference
  // first, so the largest's exponent is exactly 0 in T (f c_j - z_max rounds each large logit
  // first, and with sphere's factor ||x|| one rounding can exceed exp's whole range).
  const bool other_wins = classes > 1 && f * static_cast<double>(max_other) > z_y;
  const double c_max = other_wins ? static_cast<double>(max_other) : target.unit;
  const double z_max = other_wins ? f * c_max : z_y;

  // Pass 2: exponentials (stored over the cosines), their sum and the exp-weighted sum of the
  // plain cosines (for sphere's dL/d||x||). The target is left out of the vector loops.
  const T tf = static_cast<T>(f), tc = static_cast<T>(c_max);
  T sum = 0, weighted = 0;
#pragma omp simd reduction(+ : sum, weighted)
  for (int64_t j = 0; j < label; ++j) {
    const T c = row[j];
    const T e = margin::FastExp(std::min(T(0), tf * (c - tc)));
    row[j] = e;
    sum += e;
    weighted += e * c;
  }
#pragma omp simd reduction(+ : sum, weighted)
  for (int64_t j = label + 1; j < classes; ++j) {
    const T c = row[j];
    const T e = margin::FastExp(std::min(T(0), tf * (c - tc)));
    row[j] = e;
    sum += e;
    weighted += e * c;
  }
  const double e_y = std::exp(z_y - z_max);
  row[label] = static_cast<T>(e_y);
  const double total = static_cast<double>(sum) + e_y;

  *row_loss = margin::FinishRow(stats, norm, inv_a, f, target, cos_y, z_y, z_max, total,
                                static_cast<double>(weighted) + e_y * cos_y);
}

// Backward for row i: K_i = dL/dG_i into `k_row`; sphere's dL/df_i into `d_factor`.
template <typename T>
SPHEREFACE_ALWAYS_INLINE void BackwardRow(const T* exps, T* k_row, int64_t classes, const T* inv_b,
                                          int64_t label, const double* stats, double g, bool sphere,
                                          double* d_factor) {
  const double f = stats[margin::kRowFactor], inv_a = stats[margin::kRowInvNorm],
               inv_sum = stats[margin::kRowInvSum];
  const T coef = static_cast<T>(g * f * inv_a * inv_sum);
#pragma omp simd
  for (int64_t j = 0; j < classes; ++j) k_row[j] = coef * exps[j] * inv_b[j];
  const double p_y = static_cast<double>(exps[label]) * inv_sum;
  k_row[label] = static_cast<T>(g * f * stats[margin::kRowDUnit] * (p_y - 1) * inv_a *
                                static_cast<double>(inv_b[label]));
  // dL/df = sum_j dL/dz_j u_j = g (sum_j p_j u_j - u_y); the mean kept by forward has the plain
  // target cosine where u_y belongs.
  const double unit = stats[margin::kRowUnit];
  *d_factor =
      sphere ? g * (stats[margin::kRowMeanCos] + p_y * (unit - stats[margin::kRowTargetCos]) - unit)
             : 0;
}

// grad += (scale / n) v for one row v of norm n (margin::NormGradientScale): the chain through
// the row norms (see the derivation above).
template <typename T>
SPHEREFACE_ALWAYS_INLINE void AddNormGradient(T* grad, const T* v, int64_t dim, double n,
                                              double d_norm) {
  if (!(n > 0)) return;  // a zero row: neither term applies
  T dot = 0;
  if (n > kNormEps) {
#pragma omp simd reduction(+ : dot)
    for (int64_t k = 0; k < dim; ++k) dot += grad[k] * v[k];
  }
  const double scale = margin::NormGradientScale(static_cast<double>(dot), n, d_norm);
  const double coef = scale / n;
  if (coef == 0) return;
  if (std::abs(coef) >= std::numeric_limits<T>::min()) {
    const T c = static_cast<T>(coef);
#pragma omp simd
    for (int64_t k = 0; k < dim; ++k) grad[k] += c * v[k];
    return;
  }
  // A row so long that scale / n would be denormal in T (flushed to 0 on this thread): scale
  // times the unit row instead, every factor in range.
  const T s = static_cast<T>(scale), norm = static_cast<T>(n);
#pragma omp simd
  for (int64_t k = 0; k < dim; ++k) grad[k] += s * (v[k] / norm);
}

// Each pass over a range of rows, as a template and as the functions the parallel loops call:
// float32's in vector clones (common/vector_clones.h), float64's (the reference precision) in
// the baseline build alone.
template <typename T>
struct ForwardPass {
  T* exps;
  const T *x, *w, *bias;  // bias: the softmax head's, else null
  T *w_norms, *inv_b;
  const int64_t* labels;
  int64_t classes, dim;
  const HeadParams* head;
  double *stats, *loss, *correct;
};

template <typename T>
SPHEREFACE_ALWAYS_INLINE void WeightNormsOf(const ForwardPass<T>& a, int64_t begin, int64_t end) {
  for (int64_t j = begin; j < end; ++j) {
    const double inverse = margin::InverseNorm(*a.head, RowNorm(a.w + j * a.dim, a.dim));
    a.w_norms[j] = static_cast<T>(1.0 / inverse);
    a.inv_b[j] = static_cast<T>(inverse);
  }
}

template <typename T>
SPHEREFACE_ALWAYS_INLINE void ForwardRowsOf(const ForwardPass<T>& a, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    T* row = a.exps + i * a.classes;
    double* row_stats = a.stats + i * margin::kRowStatCount;
    if (a.bias != nullptr) {
      ForwardRow<true>(row, a.classes, a.inv_b, a.bias, a.x + i * a.dim, a.dim, a.labels[i],
                       *a.head, row_stats, a.loss + i, a.correct + i);
    } else {
      ForwardRow<false>(row, a.classes, a.inv_b, a.bias, a.x + i * a.dim, a.dim, a.labels[i],
                        *a.head, row_stats, a.loss + i, a.correct + i);
    }
  }
}

SPHEREFACE_VECTOR_CLONES void WeightNorms(const ForwardPass<float>& a, int64_t begin, int64_t end) {
  WeightNormsOf(a, begin, end);
}
void WeightNorms(const ForwardPass<double>& a, int64_t begin, int64_t end) {
  WeightNormsOf(a, begin, end);
}
SPHEREFACE_VECTOR_CLONES void ForwardRows(const ForwardPass<float>& a, int64_t begin, int64_t end) {
  ForwardRowsOf(a, begin, end);
}
void ForwardRows(const ForwardPass<double>& a, int64_t begin, int64_t end) {
  ForwardRowsOf(a, begin, end);
}

template <typename T>
struct BackwardPass {
  const T* exps;
  T* k;
  const T *inv_b, *x, *w, *w_norms;
  T *grad_x, *grad_w;  // the norm terms are added into these
  const int64_t* labels;
  int64_t batch, classes, dim;
  const double* stats;
  double* d_factor;
  double g;
  bool sphere;
};

template <typename T>
SPHEREFACE_ALWAYS_INLINE void BackwardRowsOf(const BackwardPass<T>& a, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    BackwardRow<T>(a.exps + i * a.classes, a.k + i * a.classes, a.classes, a.inv_b, a.labels[i],
                   a.stats + i * margin::kRowStatCount, a.g, a.sphere, a.d_factor + i);
  }
}

// Rows [begin, end) of the feature rows (0..batch) then the weight rows.
template <typename T>
SPHEREFACE_ALWAYS_INLINE void NormGradientsOf(const BackwardPass<T>& a, int64_t begin,
                                              int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    if (r < a.batch) {
      AddNormGradient(a.grad_x + r * a.dim, a.x + r * a.dim, a.dim,
                      a.stats[r * margin::kRowStatCount + margin::kRowNorm],
                      a.sphere ? a.d_factor[r] : 0.0);
    } else {
      const int64_t j = r - a.batch;
      AddNormGradient(a.grad_w + j * a.dim, a.w + j * a.dim, a.dim,
                      static_cast<double>(a.w_norms[j]), 0.0);
    }
  }
}

SPHEREFACE_VECTOR_CLONES void BackwardRows(const BackwardPass<float>& a, int64_t begin,
                                           int64_t end) {
  BackwardRowsOf(a, begin, end);
}
void BackwardRows(const BackwardPass<double>& a, int64_t begin, int64_t end) {
  BackwardRowsOf(a, begin, end);
}
SPHEREFACE_VECTOR_CLONES void NormGradients(const BackwardPass<float>& a, int64_t begin,
                                            int64_t end) {
  NormGradientsOf(a, begin, end);
}
void NormGradients(const BackwardPass<double>& a, int64_t begin, int64_t end) {
  NormGradientsOf(a, begin, end);
}

}  // namespace

margin::HeadParams ToHeadParams(const MarginHead& head) {
  HeadParams params;
  switch (head.kind) {
    case MarginKind::kSphere:
      params.kind = margin::kSphereKind;
      break;
    case MarginKind::kCos:
      params.kind = margin::kCosKind;
      break;
    case MarginKind::kArc:
      params.kind = margin::kArcKind;
      break;
    case MarginKind::kSoftmax:
      params.kind = margin::kSoftmaxKind;
      break;
  }
  params.m_int = static_cast<int>(head.m);
  params.m = head.m;
  params.scale = head.scale;
  params.lambda = head.lambda;
  params.easy_margin = head.easy_margin;
  return params;
}

MarginForwardState MarginSoftmaxForwardCpu(const torch::Tensor& features,
                                           const torch::Tensor& weight, const torch::Tensor& labels,
                                           const torch::Tensor& bias, const MarginHead& head) {
  const int64_t batch = features.size(0), classes = weight.size(0);
  const HeadParams params = ToHeadParams(head);
  MarginForwardState state;
  const int64_t dim = features.size(1);
  state.weight_norms = torch::empty({classes}, features.options());
  state.inv_weight_norms = torch::empty({classes}, features.options());
  state.exps = at::mm(features, weight.t());
  const RowOutputs rows(features);

  // Few parallel regions on purpose: on a loaded machine each one waits for every thread.
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_forward_cpu", [&] {
    const ForwardPass<scalar_t> pass{state.exps.data_ptr<scalar_t>(),
                                     features.data_ptr<scalar_t>(),
                                     weight.data_ptr<scalar_t>(),
                                     bias.defined() ? bias.data_ptr<scalar_t>() : nullptr,
                                     state.weight_norms.data_ptr<scalar_t>(),
                                     state.inv_weight_norms.data_ptr<scalar_t>(),
                                     labels.data_ptr<int64_t>(),
                                     classes,
                                     dim,
                                     &params,
                                     rows.stats.data_ptr<double>(),
                                     rows.loss.data_ptr<double>(),
                                     rows.correct.data_ptr<double>()};
    at::parallel_for(0, classes, RowGrain(dim),
                     [&](int64_t begin, int64_t end) { WeightNorms(pass, begin, end); });
    at::parallel_for(0, batch, RowGrain(classes),
                     [&](int64_t begin, int64_t end) { ForwardRows(pass, begin, end); });
  });
  rows.Finish(state, features.scalar_type());
  return state;
}

MarginGradients MarginSoftmaxBackwardCpu(const torch::Tensor& grad_loss,
                                         const torch::Tensor& features, const torch::Tensor& weight,
                                         const torch::Tensor& labels,
                                         const MarginForwardState& state, const MarginHead& head) {
  const int64_t batch = features.size(0), classes = weight.size(0), dim = features.size(1);
  const double g = grad_loss.item<double>() / static_cast<double>(batch);
  const bool sphere = head.kind == MarginKind::kSphere;
  MarginGradients grads;
  torch::Tensor k = torch::empty_like(state.exps);
  torch::Tensor d_factor = torch::zeros({batch}, state.row_stats.options());

  // The pointers both passes read; the gradients' are set once the GEMMs have made them.
  const auto pass_of = [&](auto zero, const torch::Tensor& k_rows) {
    using T = decltype(zero);
    return BackwardPass<T>{state.exps.data_ptr<T>(),
                           k_rows.defined() ? k_rows.data_ptr<T>() : nullptr,
                           state.inv_weight_norms.data_ptr<T>(),
                           features.data_ptr<T>(),
                           weight.data_ptr<T>(),
                           state.weight_norms.data_ptr<T>(),
                           grads.features.defined() ? grads.features.data_ptr<T>() : nullptr,
                           grads.weight.defined() ? grads.weight.data_ptr<T>() : nullptr,
                           labels.data_ptr<int64_t>(),
                           batch,
                           classes,
                           dim,
                           state.row_stats.data_ptr<double>(),
                           d_factor.data_ptr<double>(),
                           g,
                           sphere};
  };
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_backward_cpu", [&] {
    const BackwardPass<scalar_t> pass = pass_of(scalar_t(0), k);
    at::parallel_for(0, batch, RowGrain(classes),
                     [&](int64_t begin, int64_t end) { BackwardRows(pass, begin, end); });
  });

  grads.features = at::mm(k, weight);
  grads.weight = at::mm(k.t(), features);
  if (head.kind == MarginKind::kSoftmax) {
    grads.bias = k.sum(0);
    return grads;  // nothing was normalised: no chain through the norms
  }
  k = torch::Tensor();  // the second B x C buffer lives only through the GEMMs
  // The chain through the norms: feature rows then weight rows, in one parallel region.
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_norm_grads_cpu", [&] {
    const BackwardPass<scalar_t> pass = pass_of(scalar_t(0), torch::Tensor());
    at::parallel_for(0, batch + classes, RowGrain(dim),
                     [&](int64_t begin, int64_t end) { NormGradients(pass, begin, end); });
  });
  return grads;
}

}  // namespace sphereface

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
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/margin_softmax_impl.h"

namespace sphereface {

namespace {

using margin::HeadParams;
using margin::kNormEps;

// Rows of about this many elements per parallel task.
int64_t RowGrain(int64_t columns) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, columns));
}

// Accumulated in double: a float row's squares overflow float long before its norm does.
template <typename T>
double RowNorm(const T* v, int64_t dim) {
  double squares = 0;
#pragma omp simd reduction(+ : squares)
  for (int64_t k = 0; k < dim; ++k) squares += static_cast<double>(v[k]) * v[k];
  return std::sqrt(squares);
}

// Forward for row i: `row` holds G_i on entry and exp(z_i - zmax_i) on exit.
template <typename T>
void ForwardRow(T* row, int64_t classes, const T* inv_b, const T* x, int64_t dim, int64_t label,
                const HeadParams& head, double* stats, double* row_loss, double* correct) {
  const double norm = RowNorm(x, dim);
  const double inv_a = 1.0 / std::max(norm, kNormEps);
  const T scale = static_cast<T>(inv_a);
  const T lowest = -std::numeric_limits<T>::infinity();

  // Pass 1: cosines, and the largest plain cosine before and after the label.
  T max_before = lowest, max_after = lowest;
#pragma omp simd reduction(max : max_before)
  for (int64_t j = 0; j < label; ++j) {
    const T c = std::min<T>(T(1), std::max<T>(T(-1), row[j] * scale * inv_b[j]));
    row[j] = c;
    max_before = std::max(max_before, c);
  }
#pragma omp simd reduction(max : max_after)
  for (int64_t j = label + 1; j < classes; ++j) {
    const T c = std::min<T>(T(1), std::max<T>(T(-1), row[j] * scale * inv_b[j]));
    row[j] = c;
    max_after = std::max(max_after, c);
  }
  const T cos_y = std::min<T>(T(1), std::max<T>(T(-1), row[label] * scale * inv_b[label]));
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
void BackwardRow(const T* exps, T* k_row, int64_t classes, const T* inv_b, int64_t label,
                 const double* stats, double g, bool sphere, double* d_factor) {
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
void AddNormGradient(T* grad, const T* v, int64_t dim, double n, double d_norm) {
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

}  // namespace

margin::HeadParams ToHeadParams(const MarginHead& head) {
  HeadParams params;
  params.kind = head.kind == MarginKind::kSphere ? margin::kSphereKind
                : head.kind == MarginKind::kCos  ? margin::kCosKind
                                                 : margin::kArcKind;
  params.m_int = static_cast<int>(head.m);
  params.m = head.m;
  params.scale = head.scale;
  params.lambda = head.lambda;
  return params;
}

MarginForwardState MarginSoftmaxForwardCpu(const torch::Tensor& features,
                                           const torch::Tensor& weight, const torch::Tensor& labels,
                                           const MarginHead& head) {
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
    const scalar_t* w = weight.data_ptr<scalar_t>();
    scalar_t* w_norms = state.weight_norms.data_ptr<scalar_t>();
    scalar_t* inv_b = state.inv_weight_norms.data_ptr<scalar_t>();
    at::parallel_for(0, classes, RowGrain(dim), [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) {
        const double norm = RowNorm(w + j * dim, dim);
        w_norms[j] = static_cast<scalar_t>(norm);
        inv_b[j] = static_cast<scalar_t>(1.0 / std::max(norm, kNormEps));
      }
    });
    scalar_t* exps = state.exps.data_ptr<scalar_t>();
    const scalar_t* x = features.data_ptr<scalar_t>();
    const int64_t* label_ptr = labels.data_ptr<int64_t>();
    double* stats = rows.stats.data_ptr<double>();
    double* loss_ptr = rows.loss.data_ptr<double>();
    double* correct_ptr = rows.correct.data_ptr<double>();
    at::parallel_for(0, batch, RowGrain(classes), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        ForwardRow<scalar_t>(exps + i * classes, classes, inv_b, x + i * dim, dim, label_ptr[i],
                             params, stats + i * margin::kRowStatCount, loss_ptr + i,
                             correct_ptr + i);
      }
    });
  });
  rows.Finish(state, features.scalar_type());
  return state;
}

std::pair<torch::Tensor, torch::Tensor> MarginSoftmaxBackwardCpu(
    const torch::Tensor& grad_loss, const torch::Tensor& features, const torch::Tensor& weight,
    const torch::Tensor& labels, const MarginForwardState& state, const MarginHead& head) {
  const int64_t batch = features.size(0), classes = weight.size(0), dim = features.size(1);
  const double g = grad_loss.item<double>() / static_cast<double>(batch);
  const bool sphere = head.kind == MarginKind::kSphere;
  torch::Tensor k = torch::empty_like(state.exps);
  torch::Tensor d_factor = torch::zeros({batch}, state.row_stats.options());

  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_backward_cpu", [&] {
    const scalar_t* exps = state.exps.data_ptr<scalar_t>();
    scalar_t* k_ptr = k.data_ptr<scalar_t>();
    const scalar_t* inv_b_ptr = state.inv_weight_norms.data_ptr<scalar_t>();
    const int64_t* label_ptr = labels.data_ptr<int64_t>();
    const double* stats = state.row_stats.data_ptr<double>();
    double* d_factor_ptr = d_factor.data_ptr<double>();
    at::parallel_for(0, batch, RowGrain(classes), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        BackwardRow<scalar_t>(exps + i * classes, k_ptr + i * classes, classes, inv_b_ptr,
                              label_ptr[i], stats + i * margin::kRowStatCount, g, sphere,
                              d_factor_ptr + i);
      }
    });
  });

  torch::Tensor grad_features = at::mm(k, weight);
  torch::Tensor grad_weight = at::mm(k.t(), features);
  k = torch::Tensor();  // the second B x C buffer lives only through the GEMMs
  // The chain through the norms: feature rows then weight rows, in one parallel region.
  AT_DISPATCH_FLOATING_TYPES(features.scalar_type(), "margin_softmax_norm_grads_cpu", [&] {
    scalar_t* gx = grad_features.data_ptr<scalar_t>();
    scalar_t* gw = grad_weight.data_ptr<scalar_t>();
    const scalar_t* x = features.data_ptr<scalar_t>();
    const scalar_t* w = weight.data_ptr<scalar_t>();
    const double* stats = state.row_stats.data_ptr<double>();
    const scalar_t* w_norms = state.weight_norms.data_ptr<scalar_t>();
    const double* d_factor_ptr = d_factor.data_ptr<double>();
    at::parallel_for(0, batch + classes, RowGrain(dim), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        if (r < batch) {
          AddNormGradient(gx + r * dim, x + r * dim, dim,
                          stats[r * margin::kRowStatCount + margin::kRowNorm],
                          sphere ? d_factor_ptr[r] : 0.0);
        } else {
          const int64_t j = r - batch;
          AddNormGradient(gw + j * dim, w + j * dim, dim, static_cast<double>(w_norms[j]), 0.0);
        }
      }
    });
  });
  return {grad_features, grad_weight};
}

}  // namespace sphereface

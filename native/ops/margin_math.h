// The per-row maths of the fused margin-softmax loss, shared by the CPU kernel and the CUDA
// kernel (so it includes no libtorch header and compiles as host and device code under nvcc).
//
// Every logit of row i is z_ij = f_i u_ij with a row factor f_i (||x_i|| for sphere, s for cos
// and arc) and a unit logit u_ij: u_ij = cos_ij for j != y, u_iy = TargetUnit(cos_iy). Only the
// target's unit logit depends on the head; TargetLogit gives it and its derivative in cos.
//
// The plain softmax fits the same frame with nothing normalised: its "cosine" c_ij is the logit
// <x_i, W_j> + b_j itself, the norms that divide it are 1 (InverseNorm), f_i = 1 and u is the
// identity, so that no clamping, no margin and no chain through the norms applies.
#pragma once

#include <cmath>

#if defined(__CUDACC__)
#define SPHEREFACE_HD __host__ __device__ __forceinline__
#else
#define SPHEREFACE_HD inline
#endif

namespace sphereface {
namespace margin {

// Plain numbers (no enums from margin_softmax.h) so that device code can take it by value.
constexpr int kSphereKind = 0;
constexpr int kCosKind = 1;
constexpr int kArcKind = 2;
constexpr int kSoftmaxKind = 3;

constexpr double kPi = 3.14159265358979323846;

// As F.normalize: norms below this are replaced by it, so zero rows give cos = 0.
constexpr double kNormEps = 1e-12;

// sin(t) is floored here in ArcFace's d cos(t + m) / d cos(t) = cos m + cos t sin m / sin t,
// which is infinite at t = 0: a row exactly on its class centre gets a large finite gradient.
constexpr double kArcMinSin = 1e-6;

struct HeadParams {
  int kind;          // kSphereKind, kCosKind, kArcKind or kSoftmaxKind
  int m_int;         // sphere's integer m
  double m;          // the margin
  double scale;      // s for cos and arc
  double lambda;     // sphere's annealing weight
  bool easy_margin;  // arc: the margin only where cos > 0 (insightface's easy_margin)
};

// The columns of the per-row statistics forward keeps for backward (double, B x kRowStatCount),
// written and read alike by the CPU and CUDA kernels.
enum RowStat {
  kRowNorm = 0,   // ||x_i||
  kRowInvNorm,    // 1 / max(||x_i||, eps); 1 for softmax (InverseNorm)
  kRowFactor,     // f_i: ||x_i|| (sphere) or s
  kRowInvSum,     // 1 / sum_j exp(z_ij - zmax_i)
  kRowDUnit,      // d u_iy / d cos_iy
  kRowUnit,       // u_iy, the target's unit logit
  kRowTargetCos,  // cos_iy
  kRowMeanCos,    // sum_j p_ij cos_ij (plain cosines, the target's too)
  kRowStatCount
};

// The unit target logit u(c) for c = cos t and du/dc.
struct TargetLogit {
  double unit;
  double d_unit;
};

// cos(m t) = T_m(c) and d cos(m t) / dc = m U_{m-1}(c) by the Chebyshev recurrences (exact in c,
// no acos, and no division by sin t at the interval edges).
SPHEREFACE_HD void ChebyshevCosMultiple(int m, double c, double* cos_mt, double* d_cos_mt) {
  double t_prev = 1, t_cur = c;  // T_0, T_1
  double u_prev = 0, u_cur = 1;  // U_{-1}, U_0
  for (int n = 1; n < m; ++n) {
    const double t_next = 2 * c * t_cur - t_prev;
    const double u_next = 2 * c * u_cur - u_prev;
    t_prev = t_cur;
    t_cur = t_next;
    u_prev = u_cur;
    u_cur = u_next;
  }
  *cos_mt = m == 0 ? 1 : t_cur;
  *d_cos_mt = m * u_cur;
}

// The k of psi's interval [k pi/m, (k+1) pi/m] that t = acos(c) lies in.
SPHEREFACE_HD int SphereInterval(int m, double c) {
  const double t = acos(c < -1 ? -1 : (c > 1 ? 1 : c));
  int k = static_cast<int>(floor(t * m / kPi));
  if (k > m - 1) k = m - 1;
  if (k < 0) k = 0;
  return k;
}

// psi(t) = (-1)^k cos(m t) - 2k: continuous and decreasing on [0, pi]; and d psi / dc.
SPHEREFACE_HD void SpherePsi(int m, double c, double* psi, double* d_psi) {
  double cos_mt, d_cos_mt;
  ChebyshevCosMultiple(m, c, &cos_mt, &d_cos_mt);
  const int k = SphereInterval(m, c);
  const double sign = (k % 2 == 0) ? 1.0 : -1.0;
  *psi = sign * cos_mt - 2.0 * k;
  *d_psi = sign * d_cos_mt;
}

SPHEREFACE_HD TargetLogit TargetUnit(const HeadParams& head, double c) {
  TargetLogit out;
  if (head.kind == kSphereKind) {
    double psi, d_psi;
    SpherePsi(head.m_int, c, &psi, &d_psi);
    out.unit = (head.lambda * c + psi) / (1 + head.lambda);
    out.d_unit = (head.lambda + d_psi) / (1 + head.lambda);
  } else if (head.kind == kCosKind) {
    out.unit = c - head.m;
    out.d_unit = 1;
  } else if (head.kind == kArcKind) {
    // t + m <= pi  <=>  c >= cos(pi - m); beyond it cos(t + m) would turn back up, and the
    // target falls back to CosFace's form with the margin m sin(m) (continuous at the edge).
    // The easy margin instead applies cos(t + m) only where t < pi/2 and leaves the rest plain
    // (a jump at c = 0, as in insightface).
    const bool margin = head.easy_margin ? c > 0 : c >= cos(kPi - head.m);
    if (margin) {
      const double sin_t_raw = sqrt(fmax(0.0, 1 - c * c));
      const double sin_t = fmax(sin_t_raw, kArcMinSin);
      out.unit = c * cos(head.m) - sin_t_raw * sin(head.m);
      out.d_unit = cos(head.m) + c * sin(head.m) / sin_t;
    } else {
      out.unit = head.easy_margin ? c : c - head.m * sin(head.m);
      out.d_unit = 1;
    }
  } else {
    out.unit = c;  // softmax: c is the logit
    out.d_unit = 1;
  }
  return out;
}

// Ends row i's forward: stores what backward needs and returns the row's loss -log p_iy. `total`
// is sum_j exp(z_ij - z_max) and `weighted_cos` sum_j exp(z_ij - z_max) cos_ij, both with the
// target's term (its plain cosine in the second).
SPHEREFACE_HD double FinishRow(double* stats, double norm, double inv_norm, double factor,
                               const TargetLogit& target, double cos_y, double z_y, double z_max,
                               double total, double weighted_cos) {
  stats[kRowNorm] = norm;
  stats[kRowInvNorm] = inv_norm;
  stats[kRowFactor] = factor;
  stats[kRowInvSum] = 1.0 / total;
  stats[kRowDUnit] = target.d_unit;
  stats[kRowUnit] = target.unit;
  stats[kRowTargetCos] = cos_y;
  stats[kRowMeanCos] = weighted_cos / total;
  return z_max + log(total) - z_y;
}

// The chain through a row's norm n = ||v|| > 0 (margin_softmax_cpu.cc derives it) is
// grad += (scale / n) v with this scale: -[n > eps] <grad, v> / n + dL/dn.
SPHEREFACE_HD double NormGradientScale(double dot, double n, double d_norm) {
  return (n > kNormEps ? -dot / n : 0.0) + d_norm;
}

// f_i: the factor every unit logit of the row is multiplied by.
SPHEREFACE_HD double RowFactor(const HeadParams& head, double feature_norm) {
  if (head.kind == kSoftmaxKind) return 1;
  return head.kind == kSphereKind ? feature_norm : head.scale;
}

// What a row's product with the other side is divided by, inverted: 1 / max(n, eps) for the
// heads that normalise (a_i, b_j in margin_softmax_cpu.cc), 1 for softmax, which does not.
SPHEREFACE_HD double InverseNorm(const HeadParams& head, double norm) {
  if (head.kind == kSoftmaxKind) return 1;
  return 1.0 / (norm > kNormEps ? norm : kNormEps);
}

// A vectorisable exp for the float hot loop (x <= 0 there): Cephes' expf, about 1 ulp. The
// compiler turns the loop around it into SIMD, which std::exp calls prevent.
SPHEREFACE_HD float FastExp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round to nearest by adding and removing 1.5 * 2^23 (|x log2 e| < 2^22): plain SSE2 can
  // vectorise this, whereas floorf needs SSE4.1 and otherwise becomes a libm call per element.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int e = static_cast<int>(n) + 127;
  union {
    int i;
    float f;
  } bits;
  bits.i = e << 23;
  return p * bits.f;
}

SPHEREFACE_HD double FastExp(double x) { return exp(x); }

}  // namespace margin
}  // namespace sphereface

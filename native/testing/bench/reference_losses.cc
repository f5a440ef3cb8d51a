#include "testing/bench/reference_losses.h"

#include <vector>

#include "ops/margin_math.h"

namespace sphereface {

namespace {

namespace F = torch::nn::functional;

// T_m(c) by the Chebyshev recurrence, in autograd ops.
torch::Tensor ChebyshevT(int m, const torch::Tensor& c) {
  torch::Tensor previous = torch::ones_like(c), current = c;
  for (int n = 1; n < m; ++n) {
    torch::Tensor next = 2 * c * current - previous;
    previous = current;
    current = next;
  }
  return m == 0 ? previous : current;
}

}  // namespace

torch::Tensor ComposedMarginLoss(const torch::Tensor& features, const torch::Tensor& weight,
                                 const torch::Tensor& labels, const MarginHead& head) {
  const auto normalize = F::NormalizeFuncOptions().dim(1).eps(margin::kNormEps);
  torch::Tensor w_hat = F::normalize(weight, normalize);
  torch::Tensor y = labels.unsqueeze(1);
  torch::Tensor logits, target;
  if (head.kind == MarginKind::kSphere) {
    // ||x|| cos_j = <x, W_j / ||W_j||>: the plain logits straight from one matmul.
    logits = torch::mm(features, w_hat.t());
    torch::Tensor norms = features.norm(2, {1}, true);
    torch::Tensor cos_y = (logits.gather(1, y) / norms.clamp_min(margin::kNormEps)).clamp(-1, 1);
    const int m = static_cast<int>(head.m);
    torch::Tensor k = (torch::acos(cos_y.detach()) * (m / margin::kPi)).floor().clamp(0, m - 1);
    torch::Tensor sign = 1 - 2 * torch::remainder(k, 2);
    torch::Tensor psi = sign * ChebyshevT(m, cos_y) - 2 * k;
    target = norms * (head.lambda * cos_y + psi) / (1 + head.lambda);
  } else {
    torch::Tensor cos = torch::mm(F::normalize(features, normalize), w_hat.t());
    torch::Tensor cos_y = cos.gather(1, y);
    if (head.kind == MarginKind::kCos) {
      target = head.scale * (cos_y - head.m);
    } else {
      torch::Tensor t = torch::acos(cos_y.clamp(-1 + 1e-7, 1 - 1e-7));
      target = head.scale * torch::where(t + head.m <= margin::kPi, torch::cos(t + head.m),
                                         cos_y - head.m * std::sin(head.m));
    }
    logits = cos * head.scale;
  }
  return F::cross_entropy(logits.scatter(1, y, target), labels);
}

torch::Tensor SeedMarginLoss(const torch::Tensor& features, const torch::Tensor& weight,
                             const torch::Tensor& labels, double m) {
  const double eps = 1e-7;
  // `for W in self.fc.parameters(): W = F.normalize(W)` rebinds a local: W stays as it is.
  torch::Tensor x = F::normalize(features, F::NormalizeFuncOptions().p(2).dim(1));
  torch::Tensor wf = torch::mm(x, weight.t());
  torch::Tensor numerator = torch::cos(
      m * torch::acos(torch::clamp(torch::diagonal(wf.transpose(0, 1).index_select(0, labels)),
                                   -1.0 + eps, 1 - eps)));
  std::vector<torch::Tensor> rows;
  rows.reserve(labels.size(0));
  for (int64_t i = 0; i < labels.size(0); ++i) {
    const int64_t label = labels[i].item<int64_t>();
    rows.push_back(torch::cat({wf[i].slice(0, 0, label), wf[i].slice(0, label + 1)}).unsqueeze(0));
  }
  torch::Tensor excl = torch::cat(rows, 0);
  torch::Tensor denominator = torch::exp(numerator) + torch::sum(torch::exp(excl), 1);
  torch::Tensor loss = numerator - torch::log(denominator);
  return -torch::mean(loss);
}

}  // namespace sphereface

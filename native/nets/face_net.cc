#include "nets/face_net.h"

#include <cmath>

#include "nets/sphere_cnn.h"
#include "nets/sphere_net.h"

namespace sphereface {

const std::vector<std::string>& ArchNames() {
  static const std::vector<std::string> names = {"sphere-cnn4", "sphere4",  "sphere10", "sphere20",
                                                 "sphere20a",   "sphere36", "sphere64"};
  return names;
}

bool IsArch(const std::string& arch) {
  for (const auto& name : ArchNames()) {
    if (name == arch) return true;
  }
  return false;
}

InputSize InputSizeOf(const std::string& arch) {
  TORCH_CHECK(IsArch(arch), "unknown arch '", arch, "'");
  if (arch == "sphere-cnn4") return {96, 96};
  return {112, 96};
}

std::shared_ptr<FaceNet> MakeFaceNet(const std::string& arch, int64_t embedding_dim,
                                     at::Generator generator) {
  TORCH_CHECK_VALUE(embedding_dim >= 1, "the embedding size must be positive, got ", embedding_dim);
  if (arch == "sphere-cnn4") return std::make_shared<SphereCnn4>(embedding_dim, generator);
  if (arch == "sphere4")
    return std::make_shared<SphereNet>(std::array<int, 4>{0, 0, 0, 0}, embedding_dim, generator);
  if (arch == "sphere10")
    return std::make_shared<SphereNet>(std::array<int, 4>{0, 1, 2, 0}, embedding_dim, generator);
  if (arch == "sphere20")
    return std::make_shared<SphereNet>(std::array<int, 4>{1, 2, 4, 1}, embedding_dim, generator);
  if (arch == "sphere20a")
    return std::make_shared<SphereNet>(std::array<int, 4>{1, 2, 4, 1}, embedding_dim, generator,
                                       true);
  if (arch == "sphere36")
    return std::make_shared<SphereNet>(std::array<int, 4>{2, 4, 8, 2}, embedding_dim, generator);
  if (arch == "sphere64")
    return std::make_shared<SphereNet>(std::array<int, 4>{3, 8, 16, 3}, embedding_dim, generator);
  TORCH_CHECK(false, "unknown arch '", arch, "'");
}

torch::Tensor EmbeddingFc(torch::nn::Linear& fc, const torch::Tensor& x) {
  constexpr int64_t kMostRowsByVector = 2;
  if (at::GradMode::is_enabled() || !x.is_cpu() || x.dim() != 2 || x.size(0) > kMostRowsByVector) {
    return fc->forward(x);
  }
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < x.size(0); ++i) rows.push_back(at::mv(fc->weight, x[i]));
  torch::Tensor y = at::stack(rows);
  return fc->bias.defined() ? y.add_(fc->bias) : y;
}

void XavierFanInUniform(torch::Tensor weight, at::Generator& generator) {
  const int64_t fan_in = weight.numel() / weight.size(0);
  const double bound = std::sqrt(3.0 / static_cast<double>(fan_in));
  torch::NoGradGuard no_grad;
  weight.uniform_(-bound, bound, generator);
}

}  // namespace sphereface

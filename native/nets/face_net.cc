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

void XavierFanInUniform(torch::Tensor weight, at::Generator& generator) {
  const int64_t fan_in = weight.numel() / weight.size(0);
  const double bound = std::sqrt(3.0 / static_cast<double>(fan_in));
  torch::NoGradGuard no_grad;
  weight.uniform_(-bound, bound, generator);
}

}  // namespace sphereface

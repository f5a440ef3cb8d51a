#include "nets/sphere_cnn.h"

#include "nets/strided_conv_stack.h"

namespace sphereface {

namespace {
constexpr int64_t kChannels[] = {3, 32, 128, 256, 512};
constexpr int64_t kFinalSide = 5;  // 96 -> 47 -> 23 -> 11 -> 5 with 3x3, stride 2, no padding
}  // namespace

SphereCnn4::SphereCnn4(int64_t embedding_dim, at::Generator generator) {
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 4; ++i) {
    auto conv = register_module(
        "conv" + std::to_string(i + 1),
        torch::nn::Conv2d(
            torch::nn::Conv2dOptions(kChannels[i], kChannels[i + 1], 3).stride(2).bias(true)));
    // Every conv here has stride 2, so all get the original's Xavier (fan-in) init.
    XavierFanInUniform(conv->weight, generator);
    conv->bias.zero_();
    convs_.push_back(conv);
  }
  fc_ = register_module("fc", torch::nn::Linear(512 * kFinalSide * kFinalSide, embedding_dim));
  XavierFanInUniform(fc_->weight, generator);
  fc_->bias.zero_();
}

torch::Tensor SphereCnn4::forward(torch::Tensor x) {
  std::vector<ConvWithBias> layers;
  for (auto& conv : convs_) layers.push_back({conv->weight, conv->bias});
  return EmbeddingFc(fc_, StridedConvReluStack(x, layers));
}

int64_t SphereCnn4::MacsPerImage() const {
  int64_t macs = 0, side = 96;
  for (int i = 0; i < 4; ++i) {
    side = (side - 3) / 2 + 1;
    macs += side * side * kChannels[i + 1] * kChannels[i] * 9;
  }
  return macs + 512 * kFinalSide * kFinalSide * fc_->options.out_features();
}

}  // namespace sphereface

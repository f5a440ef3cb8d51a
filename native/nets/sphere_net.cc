#include "nets/sphere_net.h"

#include "nets/prelu.h"
#include "nets/winograd_conv.h"

namespace sphereface {

namespace {
constexpr int64_t kChannels[] = {3, 64, 128, 256, 512};
constexpr int64_t kHeight = 112, kWidth = 96;
constexpr int64_t kFinalHeight = 7, kFinalWidth = 6;  // 112x96 halved four times
constexpr double kPreluSlope = 0.25;
constexpr double kResidualStd = 0.01;

torch::nn::PReLU MakePrelu(int64_t channels) {
  // Per-channel slopes, as Caffe's PReLU layer (channel_shared: false).
  return torch::nn::PReLU(torch::nn::PReLUOptions().num_parameters(channels).init(kPreluSlope));
}
}  // namespace

ResidualUnit::ResidualUnit(int64_t channels, bool bias, at::Generator& generator) : bias_(bias) {
  torch::NoGradGuard no_grad;
  auto options = torch::nn::Conv2dOptions(channels, channels, 3).padding(1).bias(bias);
  conv1_ = register_module("conv1", torch::nn::Conv2d(options));
  prelu1_ = register_module("prelu1", MakePrelu(channels));
  conv2_ = register_module("conv2", torch::nn::Conv2d(options));
  prelu2_ = register_module("prelu2", MakePrelu(channels));
  // Small Gaussian residual branches start each unit close to the identity, which is what lets
  // the deep variants train from scratch with the original's learning rate.
  conv1_->weight.normal_(0, kResidualStd, generator);
  conv2_->weight.normal_(0, kResidualStd, generator);
  if (bias) {
    conv1_->bias.zero_();
    conv2_->bias.zero_();
  }
}

torch::Tensor ResidualUnit::forward(const torch::Tensor& x) {
  auto conv = [this](const torch::Tensor& input, const torch::nn::Conv2d& layer) {
    torch::Tensor y = Conv3x3(input, layer->weight);
    return bias_ ? y + layer->bias.view({1, -1, 1, 1}) : y;
  };
  torch::Tensor branch = Prelu(conv(x, conv1_), prelu1_->weight);
  branch = Prelu(conv(branch, conv2_), prelu2_->weight);
  return branch.add_(x);
}

torch::Tensor ResidualUnit::ForwardBlocked(const torch::Tensor& x) {
  auto conv_prelu = [this](const torch::Tensor& input, const torch::nn::Conv2d& layer,
                           const torch::nn::PReLU& prelu) {
    torch::Tensor y = Conv3x3Blocked(input, layer->weight);
    // The bias's channel c sits at block c / 16, lane c % 16.
    if (bias_) y.add_(layer->bias.view({1, y.size(1), 1, 1, y.size(4)}));
    PreluBlockedInPlace(y, prelu->weight);
    return y;
  };
  return conv_prelu(conv_prelu(x, conv1_, prelu1_), conv2_, prelu2_).add_(x);
}

bool ResidualUnit::TakesBlocked(const torch::Tensor& x) const {
  return UsesBlockedInference(x, conv1_->weight);
}

torch::Tensor RunResidualStage(const std::vector<std::shared_ptr<ResidualUnit>>& units,
                               torch::Tensor x) {
  if (units.empty()) return x;
  if (!units.front()->TakesBlocked(x)) {
    for (const auto& unit : units) x = unit->forward(x);
    return x;
  }
  torch::Tensor blocked = ToBlocked(x);
  for (const auto& unit : units) blocked = unit->ForwardBlocked(blocked);
  return FromBlocked(blocked, x.suggest_memory_format());
}

SphereNet::SphereNet(const std::array<int, 4>& units, int64_t embedding_dim,
                     at::Generator generator, bool residual_bias)
    : units_(units) {
  torch::NoGradGuard no_grad;
  for (int stage = 0; stage < 4; ++stage) {
    const std::string id = std::to_string(stage + 1);
    auto conv = register_module(
        "conv" + id,
        torch::nn::Conv2d(torch::nn::Conv2dOptions(kChannels[stage], kChannels[stage + 1], 3)
                              .stride(2)
                              .padding(1)
                              .bias(true)));
    XavierFanInUniform(conv->weight, generator);
    conv->bias.zero_();
    downsample_.push_back(conv);
    downsample_prelu_.push_back(register_module("prelu" + id, MakePrelu(kChannels[stage + 1])));
    std::vector<std::shared_ptr<ResidualUnit>> stage_units;
    for (int u = 0; u < units[stage]; ++u) {
      stage_units.push_back(register_module(
          "stage" + id + "_unit" + std::to_string(u + 1),
          std::make_shared<ResidualUnit>(kChannels[stage + 1], residual_bias, generator)));
    }
    stages_.push_back(std::move(stage_units));
  }
  fc_ = register_module("fc", torch::nn::Linear(512 * kFinalHeight * kFinalWidth, embedding_dim));
  XavierFanInUniform(fc_->weight, generator);
  fc_->bias.zero_();
}

torch::Tensor SphereNet::forward(torch::Tensor x) {
  for (int stage = 0; stage < 4; ++stage) {
    x = Prelu(downsample_[stage]->forward(x), downsample_prelu_[stage]->weight);
    x = RunResidualStage(stages_[stage], x);
  }
  return EmbeddingFc(fc_, x.flatten(1));
}

int64_t SphereNet::MacsPerImage() const {
  int64_t macs = 0, height = kHeight, width = kWidth;
  for (int stage = 0; stage < 4; ++stage) {
    height /= 2;
    width /= 2;
    const int64_t out = kChannels[stage + 1];
    macs += height * width * out * kChannels[stage] * 9;
    macs += units_[stage] * 2 * height * width * out * out * 9;
  }
  return macs + 512 * kFinalHeight * kFinalWidth * fc_->options.out_features();
}

}  // namespace sphereface

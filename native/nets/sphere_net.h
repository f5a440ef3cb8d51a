// SphereFace-4/10/20/36/64 as Table 2 of the paper (Liu et al. 2017) lays them out, which the
// released Caffe models follow (but for SphereFace-64's second stage: 7 units there, 8 here).
// 112x96 input; four stages, each a 3x3 stride-2 conv with bias (64, 128, 256, 512 channels,
// padding 1) and PReLU, then residual units of two bias-free 3x3 convs each followed by PReLU,
// with an identity shortcut; fc 512*7*6 -> 512 (or the embedding size asked for) without
// activation.
// Units per stage: sphere4 (0,0,0,0), sphere10 (0,1,2,0), sphere20 (1,2,4,1),
// sphere36 (2,4,8,2), sphere64 (3,8,16,3). sphere20a is sphere20 with a bias in every residual
// conv, as the public PyTorch port (clcarwin/sphereface_pytorch) builds it.
// Initialisation as the original prototxt: Xavier (Caffe's fan-in form) for the stride-2 convs
// and fc, Gaussian std 0.01 for the residual convs, biases 0, PReLU slopes 0.25.
#pragma once

#include <array>

#include "nets/face_net.h"

namespace sphereface {

class ResidualUnit : public torch::nn::Module {
 public:
  ResidualUnit(int64_t channels, bool bias, at::Generator& generator);
  torch::Tensor forward(const torch::Tensor& x);
  // forward on a blocked tensor (winograd_conv.h), where TakesBlocked(x) holds for the unblocked x.
  torch::Tensor ForwardBlocked(const torch::Tensor& blocked);
  bool TakesBlocked(const torch::Tensor& x) const;

 private:
  bool bias_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::PReLU prelu1_{nullptr}, prelu2_{nullptr};
};

// x through a stage's units, in model.embed on blocked activations where its kernels allow.
torch::Tensor RunResidualStage(const std::vector<std::shared_ptr<ResidualUnit>>& units,
                               torch::Tensor x);

class SphereNet : public FaceNet {
 public:
  SphereNet(const std::array<int, 4>& units, int64_t embedding_dim, at::Generator generator,
            bool residual_bias = false);
  torch::Tensor forward(torch::Tensor images) override;
  int64_t MacsPerImage() const override;

 private:
  std::array<int, 4> units_;
  std::vector<torch::nn::Conv2d> downsample_;
  std::vector<torch::nn::PReLU> downsample_prelu_;
  std::vector<std::vector<std::shared_ptr<ResidualUnit>>> stages_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace sphereface

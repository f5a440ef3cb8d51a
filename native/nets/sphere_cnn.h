// sphere-cnn4: the seed's 4-layer net, kept so its numbers can be reproduced.
// 96x96 input; four 3x3 stride-2 convs without padding, 3->32->128->256->512 channels, ReLU;
// fc 512*5*5 -> 512 (or the embedding size asked for). 8,067,328 parameters at 512.
#pragma once

#include "nets/face_net.h"

namespace sphereface {

class SphereCnn4 : public FaceNet {
 public:
  SphereCnn4(int64_t embedding_dim, at::Generator generator);
  torch::Tensor forward(torch::Tensor images) override;
  int64_t MacsPerImage() const override;

 private:
  std::vector<torch::nn::Conv2d> convs_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace sphereface

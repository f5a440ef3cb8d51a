// The interface every embedding net implements, and the factory that builds one by name.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace sphereface {

// A conv net mapping normalised N x 3 x H x W images to N x D embeddings (D: the fc layer's
// output size, kEmbeddingDim unless the model asked for another).
class FaceNet : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
  // Multiply-accumulates of one forward pass for one image (convs and fc), for the benchmark.
  virtual int64_t MacsPerImage() const = 0;
};

struct InputSize {
  int64_t height;
  int64_t width;
};

// The paper's embedding size, the usual one; models may choose any positive size.
constexpr int64_t kEmbeddingDim = 512;

// The architecture names TypeScript passes: sphere-cnn4, sphere4, sphere10, sphere20, sphere20a,
// sphere36, sphere64.
const std::vector<std::string>& ArchNames();
bool IsArch(const std::string& arch);
InputSize InputSizeOf(const std::string& arch);

// Builds `arch` with `embedding_dim` outputs and its initialisation drawn from `generator` (a CPU
// generator), so a seed makes it reproducible without touching libtorch's global RNG. Throws
// c10::Error for an unknown name.
std::shared_ptr<FaceNet> MakeFaceNet(const std::string& arch, int64_t embedding_dim,
                                     at::Generator generator);

// fc->forward(x) for the nets' embedding layer (x: N x F). Inference on one or two rows takes
// matrix-vector products, which read the weight once: libtorch's addmm has OpenBLAS pack the whole
// weight first, every call (sphere20's 512 x 21504 fc, one row: 2.1-2.8 ms against 9.8-15 ms; at
// 3 rows about even, at 8 the product wins; AMD EPYC, 2 threads).
torch::Tensor EmbeddingFc(torch::nn::Linear& fc, const torch::Tensor& x);

// Caffe's "xavier" filler (the original SphereFace prototxt): uniform in +-sqrt(3 / fan_in).
void XavierFanInUniform(torch::Tensor weight, at::Generator& generator);

}  // namespace sphereface

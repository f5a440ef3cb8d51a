// Everything one model trains and saves: the net, the margin head's weight (and the softmax
// head's bias), the SGD momentum buffers and the step count, on one device. Not thread-safe: a
// model's job queue is the only thread that calls into it once it is built (ParameterCount reads
// shapes only).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/batch_prep.h"
#include "dist/data_parallel.h"
#include "nets/conv_weight_cache.h"
#include "nets/face_net.h"
#include "ops/margin_softmax.h"
#include "train/fused_sgd.h"

namespace sphereface {

struct ModelConfig {
  std::string arch;
  int64_t classes = 0;
  int64_t embedding_dim = 0;  // the net's output size and the head's row length
  MarginHead head;
  Normalisation normalisation;
};

struct StepInput {
  std::vector<uint8_t> images;  // n x H x W x 3
  std::vector<int32_t> labels;  // n
  std::vector<uint8_t> flip;    // n, or empty for no flipping
  int64_t n = 0;
  SgdOptions sgd;
  double lambda = 0;       // the sphere head's annealing weight for this step
  bool decay_all = false;  // weight decay on PReLU slopes and biases too
  bool timings = false;    // report per-phase times (synchronising CUDA between phases for them)
};

struct StepResult {
  double loss = 0;
  double accuracy = 0;
  // false when the loss was not finite, or the update would have left an unusable weight
  // (fused_sgd.h): the weights and momentum buffers were then left as they were.
  bool updated = false;
  // Images the step trained on: n, or the sum over the ranks in a distributed run (where loss
  // and accuracy are the whole step's too).
  int64_t images = 0;
  // Wall-clock milliseconds per phase, meaningful when StepInput::timings asked for them.
  // reduce_ms: waiting, after the backward, for the gradient all-reduce it did not hide.
  double prepare_ms = 0, forward_ms = 0, loss_ms = 0, backward_ms = 0, reduce_ms = 0,
         optimiser_ms = 0;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

class TrainingState {
 public:
  // Builds a freshly initialised model; `seed` drives a private generator, so libtorch's global
  // RNG is never touched.
  TrainingState(ModelConfig config, torch::Device device, uint64_t seed);

  const ModelConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  int64_t steps() const { return steps_; }
  int64_t ParameterCount(bool with_head) const;
  int64_t MacsPerImage() const { return net_->MacsPerImage(); }

  // Eval-mode embeddings of n images (n x H x W x 3 bytes), as an n x embedding_dim CPU float
  // tensor.
  torch::Tensor Embed(const uint8_t* images, int64_t n, const uint8_t* flip = nullptr);

  // Forward, fused loss, backward (gradients averaged over the ranks when distributed) and one
  // fused SGD update.
  StepResult Step(const StepInput& input);

  // Joins a data-parallel run (dist/data_parallel.h): every rank must hold the same model, whose
  // weights and momentum buffers are then rank 0's, and later steps train on every rank's images.
  void JoinGroup(std::shared_ptr<DistributedGroup> group, int64_t bucket_bytes, bool overlap);

  // Net weights ("net.<name>"), "head.weight" (and the softmax head's "head.bias"), the momentum
  // buffers that exist ("momentum.<name>") as CPU tensors, in a fixed order.
  NamedTensors State() const;
  // Replaces weights and momentum buffers from `state` (names and shapes must match this arch,
  // every value finite).
  void LoadState(const NamedTensors& state, int64_t steps, const std::string& source);

  // The weights alone as CPU tensors in layer order, named as a PyTorch state_dict of the same
  // net names them (python/sphereface_torch.py): the net's own names, then "head.weight" (and
  // the softmax head's "head.bias").
  NamedTensors Weights() const;
  // Their names and shapes (reads no tensor data).
  std::vector<std::pair<std::string, std::vector<int64_t>>> WeightShapes() const;
  // A named weight's row-major float32 values, in memory the caller keeps for the call.
  struct WeightValues {
    std::string name;
    const float* data;
    int64_t size;
  };
  // Replaces the weights named in `weights` (names as Weights() gives them; the others keep
  // their values) and drops every momentum buffer: the next step starts SGD's momentum afresh.
  void SetWeights(const std::vector<WeightValues>& weights, const std::string& source);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> Parameters() const;

  ModelConfig config_;
  torch::Device device_;
  InputSize input_size_;
  std::shared_ptr<FaceNet> net_;
  torch::Tensor head_weight_;
  torch::Tensor head_bias_;  // the softmax head's; undefined for the others
  // On CPU the convs run channels-last (oneDNN's native layout: no reorders per conv).
  bool channels_last_ = false;
  std::vector<torch::Tensor> momentum_;  // aligned with Parameters(); undefined until first step
  int64_t steps_ = 0;
  std::unique_ptr<DataParallel> data_parallel_;  // when distributed
  // Embed's transformed conv weights; every method that changes a weight clears it.
  ConvWeightCache conv_weight_cache_;
};

}  // namespace sphereface

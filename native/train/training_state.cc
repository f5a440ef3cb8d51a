#include "train/training_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>

namespace sphereface {

namespace {

// Images per forward pass when embedding: bounds the activations' memory for large sets.
constexpr int64_t kEmbedChunk = 64;

// SPHEREFACE_CHANNELS_LAST=0 turns the channels-last layout off (for comparing in benchmarks).
bool ChannelsLastWanted(const torch::Device& device) {
  if (!device.is_cpu()) return false;
  const char* setting = std::getenv("SPHEREFACE_CHANNELS_LAST");
  return setting == nullptr || std::string(setting) != "0";
}

double MillisecondsSince(std::chrono::steady_clock::time_point& since) {
  auto now = std::chrono::steady_clock::now();
  double ms = std::chrono::duration<double, std::milli>(now - since).count();
  since = now;
  return ms;
}

void Synchronise(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

}  // namespace

TrainingState::TrainingState(ModelConfig config, torch::Device device, uint64_t seed)
    : config_(std::move(config)), device_(device), input_size_(InputSizeOf(config_.arch)) {
  TORCH_CHECK_VALUE(config_.classes >= 2, "classes must be at least 2, got ", config_.classes);
  TORCH_CHECK_VALUE(config_.embedding_dim >= 1, "embeddingDim must be positive, got ",
                    config_.embedding_dim);
  CheckMarginHead(config_.head);
  TORCH_CHECK_VALUE(std::isfinite(config_.normalisation.mean), "mean must be finite, got ",
                    config_.normalisation.mean);
  TORCH_CHECK_VALUE(std::isfinite(config_.normalisation.std) && config_.normalisation.std > 0,
                    "std must be finite and > 0, got ", config_.normalisation.std);
  at::Generator generator = at::detail::createCPUGenerator(seed);
  net_ = MakeFaceNet(config_.arch, config_.embedding_dim, generator);
  torch::Tensor head = torch::empty({config_.classes, config_.embedding_dim});
  // The head as the original's fc6: Xavier (fan-in), no bias; softmax's bias starts at 0.
  XavierFanInUniform(head, generator);
  net_->to(device_);
  channels_last_ = ChannelsLastWanted(device_);
  if (channels_last_) {
    torch::NoGradGuard no_grad;
    for (auto& param : net_->parameters()) {
      if (param.dim() == 4) param.set_data(param.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  head_weight_ = head.to(device_).requires_grad_(true);
  if (config_.head.kind == MarginKind::kSoftmax) {
    head_bias_ = torch::zeros({config_.classes}, head_weight_.options()).requires_grad_(true);
  }
  momentum_.resize(Parameters().size());
}

std::vector<std::pair<std::string, torch::Tensor>> TrainingState::Parameters() const {
  std::vector<std::pair<std::string, torch::Tensor>> params;
  for (const auto& item : net_->named_parameters())
    params.emplace_back("net." + item.key(), item.value());
  params.emplace_back("head.weight", head_weight_);
  if (head_bias_.defined()) params.emplace_back("head.bias", head_bias_);
  return params;
}

int64_t TrainingState::ParameterCount(bool with_head) const {
  int64_t count = 0;
  for (const auto& p : net_->parameters()) count += p.numel();
  if (!with_head) return count;
  return count + head_weight_.numel() + (head_bias_.defined() ? head_bias_.numel() : 0);
}

torch::Tensor TrainingState::Embed(const uint8_t* images, int64_t n, const uint8_t* flip) {
  c10::InferenceMode inference;
  UseConvWeightCache keep_transformed_weights(conv_weight_cache_);
  net_->eval();
  const int64_t image_bytes = input_size_.height * input_size_.width * 3;
  std::vector<torch::Tensor> chunks;
  for (int64_t start = 0; start < n; start += kEmbedChunk) {
    const int64_t count = std::min(kEmbedChunk, n - start);
    torch::Tensor batch =
        PrepareBatch(images + start * image_bytes, count, input_size_.height, input_size_.width,
                     flip ? flip + start : nullptr, config_.normalisation, channels_last_);
    chunks.push_back(net_->forward(batch.to(device_)).to(torch::kCPU));
  }
  return torch::cat(chunks).contiguous();
}

StepResult TrainingState::Step(const StepInput& input) {
  TORCH_CHECK_VALUE(input.n > 0, "empty batch");
  TORCH_CHECK_VALUE(static_cast<int64_t>(input.labels.size()) == input.n, "labels length ",
                    input.labels.size(), " does not match n = ", input.n);
  TORCH_CHECK_VALUE(static_cast<int64_t>(input.images.size()) ==
                        input.n * input_size_.height * input_size_.width * 3,
                    "images length does not match n x ", input_size_.height, " x ",
                    input_size_.width, " x 3");
  TORCH_CHECK_VALUE(input.flip.empty() || static_cast<int64_t>(input.flip.size()) == input.n,
                    "flip length does not match n");
  for (int32_t label : input.labels) {
    TORCH_CHECK_VALUE(label >= 0 && label < config_.classes, "label ", label, " is outside 0..",
                      config_.classes - 1);
  }
  TORCH_CHECK_VALUE(std::isfinite(input.sgd.lr) && input.sgd.lr >= 0, "lr must be finite and >= 0");
  TORCH_CHECK_VALUE(std::isfinite(input.lambda) && input.lambda >= 0,
                    "lambda must be finite and >= 0");

  StepResult result;
  auto clock = std::chrono::steady_clock::now();
  conv_weight_cache_.Clear();
  net_->train();
  torch::Tensor images =
      PrepareBatch(input.images.data(), input.n, input_size_.height, input_size_.width,
                   input.flip.empty() ? nullptr : input.flip.data(), config_.normalisation,
                   channels_last_)
          .to(device_);
  torch::Tensor labels =
      torch::from_blob(const_cast<int32_t*>(input.labels.data()), {input.n}, torch::kInt32)
          .to(device_, torch::kInt64);
  if (input.timings) Synchronise(device_);
  result.prepare_ms = MillisecondsSince(clock);

  torch::Tensor features = net_->forward(images);
  if (input.timings) Synchronise(device_);
  result.forward_ms = MillisecondsSince(clock);

  // The loss runs on a detached copy of the features so its forward + backward can be timed
  // apart from the net's backward; the gradients are exactly the same as one backward pass.
  torch::Tensor detached = features.detach().requires_grad_(true);
  MarginHead head = config_.head;
  head.lambda = input.lambda;
  auto [loss, accuracy] = MarginSoftmaxLoss(detached, head_weight_, labels, head, head_bias_);
  for (const auto& param : Parameters()) param.second.mutable_grad().reset();
  result.loss = loss.item<double>();
  result.accuracy = accuracy.item<double>();
  result.images = input.n;
  if (data_parallel_) {
    // Every rank learns the step's loss before its backward, so all skip a non-finite one.
    StepTotals totals = data_parallel_->Agree(input.n, result.loss, result.accuracy);
    result.loss = totals.loss;
    result.accuracy = totals.accuracy;
    result.images = totals.images;
  }
  if (!std::isfinite(result.loss)) return result;  // weights stay as they were
  loss.backward();
  result.loss_ms = MillisecondsSince(clock);

  features.backward(detached.grad());
  if (input.timings) Synchronise(device_);
  result.backward_ms = MillisecondsSince(clock);
  if (data_parallel_) {
    data_parallel_->ReduceGradients();
    result.reduce_ms = MillisecondsSince(clock);
  }

  // Every tensor is checked before any is updated: a step that would leave an unusable weight
  // (see kLargestUsableWeight) is refused whole, as a non-finite loss is.
  auto params = Parameters();
  std::vector<torch::Tensor> buffers(params.size());
  std::vector<double> decays(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor& param = params[i].second;
    if (!param.grad().defined()) continue;
    buffers[i] = momentum_[i].defined() ? momentum_[i] : torch::zeros_like(param);
    // Slopes and biases (the 1-D tensors) are not decayed unless asked: decaying PReLU slopes
    // pulls them to 0 (a plain ReLU), and biases carry no scale the decay could regularise.
    decays[i] = input.decay_all || param.dim() > 1 ? input.sgd.weight_decay : 0.0;
    if (!FusedSgdStepKeepsUsable(param, param.grad(), buffers[i], input.sgd.lr, input.sgd.momentum,
                                 decays[i], input.sgd.nesterov)) {
      return result;  // weights and momentum stay as they were
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!buffers[i].defined()) continue;
    FusedSgdStep(params[i].second, params[i].second.grad(), buffers[i], input.sgd.lr,
                 input.sgd.momentum, decays[i], input.sgd.nesterov);
    momentum_[i] = buffers[i];
  }
  if (input.timings) Synchronise(device_);
  result.optimiser_ms = MillisecondsSince(clock);
  result.updated = true;
  ++steps_;
  return result;
}

void TrainingState::JoinGroup(std::shared_ptr<DistributedGroup> group, int64_t bucket_bytes,
                              bool overlap) {
  TORCH_CHECK(!data_parallel_, "the model has joined a distributed group already");
  conv_weight_cache_.Clear();  // the weights become rank 0's
  auto params = Parameters();
  // What every rank's model must agree on: arch, classes, head, preprocessing, step count, and
  // which momentum buffers exist (a fresh model has none; a resumed one has every one).
  uint32_t arch_hash = 2166136261u;  // FNV-1a: the same on every machine, unlike std::hash
  for (unsigned char c : config_.arch) arch_hash = (arch_hash ^ c) * 16777619u;
  std::vector<double> signature = {static_cast<double>(arch_hash),
                                   static_cast<double>(config_.classes),
                                   static_cast<double>(config_.head.kind),
                                   config_.head.m,
                                   config_.head.scale,
                                   config_.head.lambda,
                                   config_.normalisation.mean,
                                   config_.normalisation.std,
                                   static_cast<double>(steps_)};
  std::vector<torch::Tensor> shared;
  for (const auto& [name, param] : params) shared.push_back(param.detach());
  for (size_t i = 0; i < momentum_.size(); ++i) {
    signature.push_back(momentum_[i].defined() ? 1 : 0);
    if (momentum_[i].defined()) shared.push_back(momentum_[i]);
  }
  // Gradients arrive in reverse order of use: the head's first (the loss's backward runs
  // first), then the net's from its last layer back.
  std::vector<torch::Tensor> arrival{params.back().second};
  for (size_t i = params.size() - 1; i-- > 0;) arrival.push_back(params[i].second);
  auto data_parallel =
      std::make_unique<DataParallel>(std::move(group), arrival, bucket_bytes, overlap);
  data_parallel->Synchronise(shared, signature);
  data_parallel_ = std::move(data_parallel);
}

NamedTensors TrainingState::State() const {
  NamedTensors state;
  auto params = Parameters();
  for (const auto& [name, tensor] : params) {
    state.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous());
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (momentum_[i].defined()) {
      state.emplace_back("momentum." + params[i].first, momentum_[i].to(torch::kCPU).contiguous());
    }
  }
  return state;
}

void TrainingState::LoadState(const NamedTensors& state, int64_t steps, const std::string& source) {
  torch::NoGradGuard no_grad;
  conv_weight_cache_.Clear();
  auto params = Parameters();
  std::vector<bool> seen(params.size(), false);
  for (const auto& [name, tensor] : state) {
    const bool is_momentum = name.rfind("momentum.", 0) == 0;
    const std::string param_name = is_momentum ? name.substr(9) : name;
    size_t index = params.size();
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].first == param_name) index = i;
    }
    TORCH_CHECK(index < params.size(), source, ": tensor '", name, "' is not part of a ",
                config_.arch, " model");
    const torch::Tensor& param = params[index].second;
    TORCH_CHECK(tensor.sizes() == param.sizes(), source, ": tensor '", name, "' has shape ",
                tensor.sizes(), " but ", config_.arch, " with ", config_.classes,
                " classes expects ", param.sizes());
    TORCH_CHECK(torch::isfinite(tensor).all().item<bool>(), source, ": tensor '", name,
                "' holds values that are not finite (NaN or infinity)");
    if (is_momentum) {
      momentum_[index] = torch::empty_like(param).copy_(tensor);  // in the param's layout
    } else {
      param.copy_(tensor);
      seen[index] = true;
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    TORCH_CHECK(seen[i], source, ": tensor '", params[i].first, "' is missing");
  }
  steps_ = steps;
}

NamedTensors TrainingState::Weights() const {
  NamedTensors weights;
  for (const auto& item : net_->named_parameters())
    weights.emplace_back(item.key(), item.value().detach().to(torch::kCPU).contiguous());
  weights.emplace_back("head.weight", head_weight_.detach().to(torch::kCPU).contiguous());
  if (head_bias_.defined())
    weights.emplace_back("head.bias", head_bias_.detach().to(torch::kCPU).contiguous());
  return weights;
}

std::vector<std::pair<std::string, std::vector<int64_t>>> TrainingState::WeightShapes() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const auto& item : net_->named_parameters())
    shapes.emplace_back(item.key(), item.value().sizes().vec());
  shapes.emplace_back("head.weight", head_weight_.sizes().vec());
  if (head_bias_.defined()) shapes.emplace_back("head.bias", head_bias_.sizes().vec());
  return shapes;
}

void TrainingState::SetWeights(const std::vector<WeightValues>& weights,
                               const std::string& source) {
  torch::NoGradGuard no_grad;
  conv_weight_cache_.Clear();
  const auto params = Parameters();
  // Every weight is checked before any is changed.
  std::vector<torch::Tensor> targets;
  for (const auto& [name, data, size] : weights) {
    const std::string param_name = name.rfind("head.", 0) == 0 ? name : "net." + name;
    auto found = std::find_if(params.begin(), params.end(),
                              [&](const auto& param) { return param.first == param_name; });
    TORCH_CHECK_VALUE(found != params.end(), source, ": '", name, "' is not a weight of a ",
                      config_.arch);
    TORCH_CHECK_VALUE(size == found->second.numel(), source, ": '", name, "' has ", size,
                      " elements but ", config_.arch, " expects shape ", found->second.sizes());
    targets.push_back(found->second);
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    torch::Tensor source_tensor =
        torch::from_blob(const_cast<float*>(weights[i].data), targets[i].sizes(), torch::kFloat32);
    targets[i].copy_(source_tensor);  // into the weight's device and memory format
  }
  for (auto& buffer : momentum_) buffer = torch::Tensor();
}

}  // namespace sphereface

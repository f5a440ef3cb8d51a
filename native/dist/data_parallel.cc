#include "dist/data_parallel.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace sphereface {

DataParallel::DataParallel(std::shared_ptr<DistributedGroup> group,
                           std::vector<torch::Tensor> params, int64_t bucket_bytes, bool overlap)
    : group_(std::move(group)), params_(std::move(params)), overlap_(overlap) {
  TORCH_CHECK_VALUE(bucket_bytes > 0, "bucket size must be positive, got ", bucket_bytes);
  // Consecutive parameters (in the order their gradients arrive) share a bucket until it holds
  // bucket_bytes; a parameter larger than that has a bucket of its own. As in DDP, the first
  // bucket holds at most 1 MiB, so that communication starts early: here the head's weight,
  // whose gradient is ready before the net's backward begins, goes alone.
  const int64_t first_bucket_bytes = std::min<int64_t>(1 << 20, bucket_bytes);
  std::vector<std::vector<size_t>> groups;
  int64_t bytes = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const int64_t size = params_[i].numel() * static_cast<int64_t>(params_[i].element_size());
    const int64_t cap = groups.size() == 1 ? first_bucket_bytes : bucket_bytes;
    if (groups.empty() || (bytes > 0 && bytes + size > cap)) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(i);
    bytes += size;
  }
  views_.resize(params_.size());
  bucket_of_.resize(params_.size());
  arrived_.assign(params_.size(), false);
  for (const auto& members : groups) {
    int64_t numel = 0;
    for (size_t i : members) numel += params_[i].numel();
    Bucket bucket;
    bucket.flat = torch::empty({numel}, params_[members.front()].options().requires_grad(false));
    bucket.members = members;
    int64_t offset = 0;
    for (size_t i : members) {
      views_[i] = bucket.flat.narrow(0, offset, params_[i].numel()).view(params_[i].sizes());
      bucket_of_[i] = buckets_.size();
      offset += params_[i].numel();
    }
    buckets_.push_back(std::move(bucket));
  }
  for (size_t i = 0; i < params_.size(); ++i) {
    // Called by autograd with the parameter's whole gradient of this backward, before it is
    // accumulated into .grad(); on the thread running the backward.
    hooks_.push_back(
        params_[i].register_hook([this, i](const torch::Tensor& grad) { OnGradient(i, grad); }));
  }
}

DataParallel::~DataParallel() {
  for (size_t i = 0; i < hooks_.size(); ++i) params_[i].remove_hook(hooks_[i]);
}

void DataParallel::Synchronise(const std::vector<torch::Tensor>& tensors,
                               const std::vector<double>& signature) {
  // max(s) and max(-s) over the ranks: equal to s and -s everywhere only if every rank's s is.
  const auto count = static_cast<int64_t>(signature.size());
  torch::Tensor both = torch::empty({2 * count}, torch::kFloat64);
  for (int64_t i = 0; i < count; ++i) {
    both[i] = signature[i];
    both[count + i] = -signature[i];
  }
  const torch::Device device = params_.front().device();
  torch::Tensor reduced = both.to(device);
  group_->AllReduce(reduced, ReduceKind::kMax);
  reduced = reduced.cpu();
  for (int64_t i = 0; i < count; ++i) {
    TORCH_CHECK(reduced[i].item<double>() == signature[i] &&
                    -reduced[count + i].item<double>() == signature[i],
                "rank ", group_->rank(),
                ": the ranks hold different models (arch, classes, head, preprocessing, step "
                "count or optimiser state differ): every rank must start from the same "
                "settings, or resume from the same checkpoint");
  }
  group_->Broadcast(tensors, 0);
}

StepTotals DataParallel::Agree(int64_t n, double loss, double accuracy) {
  // Whatever a failed step left behind is dropped.
  for (auto& bucket : buckets_) {
    bucket.pending = bucket.members.size();
    bucket.reduce.reset();
  }
  arrived_.assign(params_.size(), false);
  next_launch_ = 0;
  armed_ = false;

  const double local[3] = {loss * static_cast<double>(n), accuracy * static_cast<double>(n),
                           static_cast<double>(n)};
  torch::Tensor sums =
      torch::tensor(at::ArrayRef<double>(local, 3), torch::kFloat64).to(params_.front().device());
  group_->AllReduce(sums, ReduceKind::kSum);
  sums = sums.cpu();
  StepTotals totals;
  totals.images = static_cast<int64_t>(std::llround(sums[2].item<double>()));
  totals.loss = sums[0].item<double>() / sums[2].item<double>();
  totals.accuracy = sums[1].item<double>() / sums[2].item<double>();
  scale_ = static_cast<double>(n) / sums[2].item<double>();
  armed_ = std::isfinite(totals.loss);
  return totals;
}

void DataParallel::OnGradient(size_t index, const torch::Tensor& grad) {
  if (!armed_) return;
  // Each parameter is used once per step, so autograd hands over its gradient once.
  TORCH_CHECK(!arrived_[index], "a second gradient for one parameter in one step");
  torch::NoGradGuard no_grad;
  views_[index].copy_(grad);
  arrived_[index] = true;
  if (--buckets_[bucket_of_[index]].pending == 0 && overlap_) LaunchReady();
}

// Buckets start in index order on every rank (c10d matches collectives by their order), each
// once all of its gradients are in.
void DataParallel::LaunchReady() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    Launch(buckets_[next_launch_++]);
  }
}

void DataParallel::Launch(Bucket& bucket) {
  torch::NoGradGuard no_grad;
  bucket.flat.mul_(scale_);
  bucket.reduce = group_->StartAllReduce(bucket.flat);
}

double DataParallel::ReduceGradients() {
  TORCH_CHECK(armed_, "ReduceGradients without an agreed finite step");
  armed_ = false;
  torch::NoGradGuard no_grad;
  // A parameter the backward did not reach contributes zeros.
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!arrived_[i]) {
      views_[i].zero_();
      arrived_[i] = true;
      --buckets_[bucket_of_[i]].pending;
    }
  }
  for (; next_launch_ < buckets_.size(); ++next_launch_) Launch(buckets_[next_launch_]);
  const auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) {
    group_->Wait(*bucket.reduce);
    bucket.reduce.reset();
  }
  const double waited =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& grad = params_[i].mutable_grad();
    if (grad.defined()) {
      grad.copy_(views_[i]);
    } else {
      grad = torch::empty_like(params_[i]).copy_(views_[i]);  // in the parameter's layout
    }
  }
  return waited;
}

}  // namespace sphereface

// Data-parallel training of one model over a DistributedGroup, as PyTorch's DDP Reducer does it:
// every rank holds the whole model (the margin head's weight included: classes are replicated,
// not sharded) and a part of each batch; the gradients are summed over the ranks in buckets of
// about `bucket_bytes` (the first at most 1 MiB) in reverse order of use, each all-reduced as
// soon as the backward has produced all of its gradients (autograd hooks on the parameters), so
// communication overlaps the rest of the backward. Each rank scales its gradient by its share of
// the step's images first, so the sum is the gradient of the whole batch's mean loss, however
// unevenly the batch was split.
//
// Every rank ends the reduction with bit-identical gradients (each element's sum is computed
// once and sent to all), so the identical SGD update keeps the weights identical.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "dist/process_group.h"

namespace sphereface {

// One step's figures over every rank.
struct StepTotals {
  double loss = 0;      // mean over the step's images (non-finite when any rank's was)
  double accuracy = 0;  // likewise
  int64_t images = 0;
};

class DataParallel {
 public:
  // `params` in the order the backward produces their gradients (reverse order of use).
  // `overlap` false reduces every bucket after the backward instead (for comparison).
  DataParallel(std::shared_ptr<DistributedGroup> group, std::vector<torch::Tensor> params,
               int64_t bucket_bytes, bool overlap);
  ~DataParallel();  // removes the hooks
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  const DistributedGroup& group() const { return *group_; }

  // Checks that every rank describes its model with the same `signature` (arch, classes, head,
  // steps...), then gives every rank rank 0's values of `tensors` (weights, momentum buffers).
  void Synchronise(const std::vector<torch::Tensor>& tensors, const std::vector<double>& signature);

  // After the loss, before the backward: the step's figures over every rank, from this rank's
  // `n` images with mean `loss` and `accuracy`. Arms the hooks when the loss is finite.
  StepTotals Agree(int64_t n, double loss, double accuracy);

  // After the backward: every parameter's grad is the whole batch's gradient. Returns the
  // milliseconds spent waiting for communication the backward did not hide.
  double ReduceGradients();

 private:
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> members;  // indices into params_
    size_t pending = 0;           // members whose gradient has not arrived this step
    std::unique_ptr<PendingReduce> reduce;
  };

  void OnGradient(size_t index, const torch::Tensor& grad);
  void LaunchReady();
  void Launch(Bucket& bucket);

  std::shared_ptr<DistributedGroup> group_;
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> views_;  // each parameter's slot in its bucket, in its shape
  std::vector<size_t> bucket_of_;
  std::vector<bool> arrived_;
  std::vector<unsigned> hooks_;
  std::vector<Bucket> buckets_;
  size_t next_launch_ = 0;
  bool overlap_;
  bool armed_ = false;
  double scale_ = 1;  // this rank's images / the step's images
};

}  // namespace sphereface

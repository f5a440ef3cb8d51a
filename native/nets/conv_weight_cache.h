// Weights in the layouts oneDNN's conv kernels ask for, kept while the weights stay as they are.
// Winograd's transformed weights are four times the weights' size and take about as long to make
// as a one-image forward through the conv, so a call that makes them afresh every time (as
// training must: its weights change every step) loses to the direct kernels at small batches.
// Inference (TrainingState::Embed) installs its model's cache for the length of a call; the model
// clears it whenever any of its weights change.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "nets/dnnl_plumbing.h"

namespace sphereface {

class ConvWeightCache {
 public:
  ConvWeightCache();
  ~ConvWeightCache();
  ConvWeightCache(const ConvWeightCache&) = delete;
  ConvWeightCache& operator=(const ConvWeightCache&) = delete;

  // Forgets every kept weight: to be called whenever any weight of the model changes.
  void Clear();

  // Weights transformed into a kept copy so far (tests: a call that finds its copies makes none).
  int64_t Transforms() const;

  struct Entries;

 private:
  friend class UseConvWeightCache;
  std::unique_ptr<Entries> entries_;
};

// Makes `cache` the one this thread's convs keep their weights in, until destroyed.
class UseConvWeightCache {
 public:
  explicit UseConvWeightCache(ConvWeightCache& cache);
  ~UseConvWeightCache();
  UseConvWeightCache(const UseConvWeightCache&) = delete;
  UseConvWeightCache& operator=(const UseConvWeightCache&) = delete;

 private:
  ConvWeightCache::Entries* previous_;
};

// Whether a cache is in use on this thread (inference that may keep transformed weights).
bool ConvWeightCacheInUse();

#ifdef SPHEREFACE_DNNL_KERNELS
namespace dnnl_plumbing {

// The model's parameter `weight` (K x C x 3 x 3, any memory format) in the layout `desc`: the
// kept copy when this thread has a cache in use (made on first request), else a reorder into
// `slot`. Where it reads the weight it leaves `weight` as OIHW in `oihw`, which the caller keeps
// alive while the result is in use.
memory WeightsAs(const torch::Tensor& weight, const memory::desc& desc, Slot slot,
                 dnnl::stream& stream, torch::Tensor& oihw);

}  // namespace dnnl_plumbing
#endif

}  // namespace sphereface

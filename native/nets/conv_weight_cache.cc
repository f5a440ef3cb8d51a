#include "nets/conv_weight_cache.h"

#include <utility>
#include <vector>

namespace sphereface {

struct ConvWeightCache::Entries {
#ifdef SPHEREFACE_DNNL_KERNELS
  struct Entry {
    // The weight's identity: the model holds its parameters for the cache's whole life, and
    // Clear() runs whenever their values change.
    const c10::TensorImpl* weight;
    const void* data;
    dnnl::memory transformed;  // owns its buffer
  };
  std::vector<Entry> kept;
#endif
};

namespace {
thread_local ConvWeightCache::Entries* in_use = nullptr;
}  // namespace

ConvWeightCache::ConvWeightCache() : entries_(std::make_unique<Entries>()) {}
ConvWeightCache::~ConvWeightCache() = default;

void ConvWeightCache::Clear() { *entries_ = Entries(); }

UseConvWeightCache::UseConvWeightCache(ConvWeightCache& cache) : previous_(in_use) {
  in_use = cache.entries_.get();
}

UseConvWeightCache::~UseConvWeightCache() { in_use = previous_; }

bool ConvWeightCacheInUse() { return in_use != nullptr; }

#ifdef SPHEREFACE_DNNL_KERNELS
namespace dnnl_plumbing {

memory WeightsAs(const torch::Tensor& weight, const memory::desc& desc, Slot slot,
                 dnnl::stream& stream, torch::Tensor& oihw) {
  const auto plain = [&] {
    if (!oihw.defined()) oihw = weight.contiguous();
    return View(oihw, Tag::oihw);
  };
  if (in_use == nullptr) return Reordered(plain(), desc, slot, stream);
  const c10::TensorImpl* impl = weight.unsafeGetTensorImpl();
  ConvWeightCache::Entries::Entry* kept = nullptr;
  for (auto& entry : in_use->kept) {
    if (entry.weight == impl && entry.data == weight.data_ptr()) kept = &entry;
  }
  if (kept != nullptr && kept->transformed.get_desc() == desc) return kept->transformed;
  memory from = plain();
  memory transformed(desc, Engine());
  dnnl::reorder(from, transformed).execute(stream, from, transformed);
  stream.wait();
  // One copy per weight (a kernel for another batch size may want another layout): the cache
  // never holds more than the transformed weights of one forward.
  if (kept != nullptr) {
    kept->transformed = transformed;
  } else {
    in_use->kept.push_back({impl, weight.data_ptr(), transformed});
  }
  return transformed;
}

}  // namespace dnnl_plumbing
#endif

}  // namespace sphereface

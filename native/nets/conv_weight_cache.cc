#include "nets/conv_weight_cache.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace sphereface {

struct ConvWeightCache::Entries {
  int64_t transforms = 0;
#ifdef SPHEREFACE_DNNL_KERNELS
  struct Entry {
    // The weight's identity: the model holds its parameters for the cache's whole life, and
    // Clear() runs whenever their values change.
    const c10::TensorImpl* weight;
    const void* data;
    dnnl::memory transformed;  // owns its buffer
    uint64_t last_used;
  };
  std::vector<Entry> kept;
  uint64_t uses = 0;
#endif
};

namespace {
thread_local ConvWeightCache::Entries* in_use = nullptr;
constexpr int kLayoutsPerWeight = 2;
}  // namespace

ConvWeightCache::ConvWeightCache() : entries_(std::make_unique<Entries>()) {}
ConvWeightCache::~ConvWeightCache() = default;

void ConvWeightCache::Clear() {
  const int64_t transforms = entries_->transforms;
  *entries_ = Entries();
  entries_->transforms = transforms;
}

int64_t ConvWeightCache::Transforms() const { return entries_->transforms; }

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
  const uint64_t now = ++in_use->uses;
  // Of this weight's copies, the one in `desc`, else the least recently used.
  ConvWeightCache::Entries::Entry* oldest = nullptr;
  int copies = 0;
  for (auto& entry : in_use->kept) {
    if (entry.weight != impl || entry.data != weight.data_ptr()) continue;
    if (entry.transformed.get_desc() == desc) {
      entry.last_used = now;
      return entry.transformed;
    }
    ++copies;
    if (oldest == nullptr || entry.last_used < oldest->last_used) oldest = &entry;
  }
  memory from = plain();
  memory transformed(desc, Engine());
  dnnl::reorder(from, transformed).execute(stream, from, transformed);
  stream.wait();
  ++in_use->transforms;
  // Two copies per weight at most: the kernels' weight layout depends on the images in a chunk,
  // and a batch's chunks come in up to two sizes (winograd_conv.cc), which with one copy made
  // every call transform every weight twice. A third layout replaces the older of the two.
  if (copies >= kLayoutsPerWeight) {
    *oldest = {impl, weight.data_ptr(), transformed, now};
  } else {
    in_use->kept.push_back({impl, weight.data_ptr(), transformed, now});
  }
  return transformed;
}

}  // namespace dnnl_plumbing
#endif

}  // namespace sphereface

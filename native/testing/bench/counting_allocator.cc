#include "testing/bench/counting_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>

#include "common/allocator_compat.h"

namespace sphereface {

namespace {

std::atomic<int64_t> live_bytes{0};
std::atomic<int64_t> peak_bytes{0};

void Add(int64_t bytes) {
  const int64_t now = live_bytes.fetch_add(bytes) + bytes;
  int64_t peak = peak_bytes.load();
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
  }
}

// Owns the base allocator's DataPtr and remembers its size until libtorch frees it.
struct Allocation {
  c10::DataPtr inner;
  int64_t bytes;
};

void DeleteAllocation(void* context) {
  auto* allocation = static_cast<Allocation*>(context);
  live_bytes.fetch_sub(allocation->bytes);
  delete allocation;
}

class CountingAllocatorCore : public AllocatorBase {
 public:
  explicit CountingAllocatorCore(c10::Allocator* base) : base_(base) {}

 protected:
  c10::DataPtr Allocate(size_t bytes) const {
    auto* allocation = new Allocation{base_->allocate(bytes), static_cast<int64_t>(bytes)};
    Add(allocation->bytes);
    void* data = allocation->inner.get();
    return {data, allocation, &DeleteAllocation, c10::Device(c10::DeviceType::CPU)};
  }

 private:
  c10::Allocator* base_;
};

using CountingAllocator = CompatAllocator<CountingAllocatorCore>;

}  // namespace

// libtorch keeps the allocator of the highest priority set so far: the scope sets both its own
// and the previous one at this priority.
constexpr uint8_t kPriority = 100;

CountingAllocatorScope::CountingAllocatorScope() : previous_(c10::GetCPUAllocator()) {
  // Kept for the process: tensors allocated through it may outlive the scope.
  static CountingAllocator allocator(previous_);
  c10::SetCPUAllocator(&allocator, kPriority);
}

CountingAllocatorScope::~CountingAllocatorScope() { c10::SetCPUAllocator(previous_, kPriority); }

int64_t LiveBytes() { return live_bytes.load(); }
int64_t PeakBytes() { return peak_bytes.load(); }
void ResetPeakBytes() { peak_bytes.store(live_bytes.load()); }

}  // namespace sphereface

#include "common/cpu_block_cache.h"

#include <c10/core/CPUAllocator.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/allocator_compat.h"

namespace sphereface {

namespace {

constexpr size_t kAlignment = 64;  // as libtorch's own allocator: AVX-512 loads
constexpr size_t kSmallestCached = size_t{256} << 10;
constexpr size_t kMaxCachedBytes = size_t{1} << 30;

// Requests round up to 1/8 of their power of two (at most 12.5 % more), so that sizes which
// differ a little between calls (a last, smaller batch) still meet.
size_t Rounded(size_t bytes) {
  size_t power = kSmallestCached;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

void* AlignedAlloc(size_t bytes) {
  void* data = nullptr;
  if (posix_memalign(&data, kAlignment, bytes) != 0) data = nullptr;
  TORCH_CHECK(data != nullptr, "out of memory: could not allocate ", bytes, " bytes of CPU memory");
  return data;
}

class CpuBlockCacheCore : public AllocatorBase {
 public:
  // Never destroyed: tensors may be freed during the process's exit, after static destructors.
  static CpuBlockCacheCore& Instance();

  // raw_allocate / raw_deallocate (oneDNN's scratch memory in libtorch's mkldnn ops) need it.
  c10::DeleterFnPtr raw_deleter() const override { return &Free; }

  void Release() {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [size, free] : free_) blocks.insert(blocks.end(), free.begin(), free.end());
      free_.clear();
      cached_bytes_ = 0;
    }
    for (void* block : blocks) std::free(block);
  }

  size_t CachedBytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }

 protected:
  static c10::DataPtr Allocate(size_t bytes) {
    if (bytes == 0) return {nullptr, nullptr, &Free, c10::Device(c10::DeviceType::CPU)};
    void* data = bytes < kSmallestCached ? AlignedAlloc(bytes) : Instance().Take(Rounded(bytes));
    return {data, data, &Free, c10::Device(c10::DeviceType::CPU)};
  }

 private:
  // Every block's deleter, also for small blocks (the map knows which are cached ones).
  static void Free(void* data) {
    if (data != nullptr && !Instance().Give(data)) std::free(data);
  }

  void* Take(size_t size) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = free_.find(size);
      if (found != free_.end() && !found->second.empty()) {
        void* data = found->second.back();
        found->second.pop_back();
        cached_bytes_ -= size;
        sizes_[data] = size;
        return data;
      }
    }
    void* data = AlignedAlloc(size);
    std::lock_guard<std::mutex> lock(mutex_);
    sizes_[data] = size;
    return data;
  }

  // false for a block this cache did not size (a small one): the caller frees it.
  bool Give(void* data) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = sizes_.find(data);
    if (found == sizes_.end()) return false;
    const size_t size = found->second;
    sizes_.erase(found);
    if (cached_bytes_ + size > kMaxCachedBytes) {
      std::free(data);
      return true;
    }
    free_[size].push_back(data);
    cached_bytes_ += size;
    return true;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<void*, size_t> sizes_;              // blocks in use that are ours to cache
  std::unordered_map<size_t, std::vector<void*>> free_;  // by rounded size
  size_t cached_bytes_ = 0;
};

using CpuBlockCache = CompatAllocator<CpuBlockCacheCore>;

CpuBlockCacheCore& CpuBlockCacheCore::Instance() {
  static CpuBlockCache* cache = new CpuBlockCache();
  return *cache;
}

}  // namespace

void InstallCpuBlockCache() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* setting = std::getenv("SPHEREFACE_CACHE_CPU_BLOCKS");
    if (setting != nullptr && std::strcmp(setting, "0") == 0) return;
    // Priority 1 replaces libtorch's default (0), not an allocator someone set above it.
    c10::SetCPUAllocator(&CpuBlockCacheCore::Instance(), /*priority=*/1);
  });
}

void ReleaseCachedCpuBlocks() { CpuBlockCacheCore::Instance().Release(); }

size_t CachedCpuBlockBytes() { return CpuBlockCacheCore::Instance().CachedBytes(); }

}  // namespace sphereface

// A CPU allocator that counts live and peak bytes, wrapped around libtorch's default one, so a
// benchmark can measure the peak extra memory of a computation. Installed by the bench for the
// length of a run only.
#pragma once

#include <c10/core/Allocator.h>

#include <cstdint>

namespace sphereface {

// While alive, the counting allocator is libtorch's CPU allocator; the one before it is put back
// afterwards (memory allocated meanwhile is still freed through the counting one). One at a time.
class CountingAllocatorScope {
 public:
  CountingAllocatorScope();
  ~CountingAllocatorScope();
  CountingAllocatorScope(const CountingAllocatorScope&) = delete;
  CountingAllocatorScope& operator=(const CountingAllocatorScope&) = delete;

 private:
  c10::Allocator* previous_;
};

// Bytes live now through the counting allocator, and the peak since the last ResetPeakBytes.
int64_t LiveBytes();
int64_t PeakBytes();
void ResetPeakBytes();

}  // namespace sphereface

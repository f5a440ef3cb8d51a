// A CPU allocator that counts live and peak bytes, wrapped around libtorch's default one, so a
// benchmark can measure the peak extra memory of a computation. Installed only by the bench.
#pragma once

#include <cstdint>

namespace sphereface {

// Installs the counting allocator as libtorch's CPU allocator (once; later calls do nothing).
void InstallCountingAllocator();

// Bytes live now through the counting allocator, and the peak since the last ResetPeakBytes.
int64_t LiveBytes();
int64_t PeakBytes();
void ResetPeakBytes();

}  // namespace sphereface

// libtorch's CPU tensors on memory kept for reuse. libtorch's own CPU allocator hands every
// tensor fresh memory from malloc, and glibc serves blocks of this size (activations, gradients,
// oneDNN's buffers: megabytes each) with mmap, or from thread arenas it trims: every training
// step and embed call faulted each page of them in afresh (measured: ~12,700 minor faults per
// sphere-cnn4 step; ~80,000 per sphere20 embed of 64 images, about a third of that call's time
// on a virtual machine). This allocator keeps freed blocks of 256 KiB and more and gives them to
// later requests of the same rounded size, so steps and calls of a fixed shape reuse the same
// memory. Smaller blocks go to malloc as before (its bins already reuse them).
//
// The cache holds at most kMaxCachedBytes of free blocks (the rest go back to the system) and
// empties when the last model is disposed. SPHEREFACE_CACHE_CPU_BLOCKS=0 leaves libtorch's
// allocator in place (for comparison).
#pragma once

#include <cstddef>

namespace sphereface {

// Makes the block cache libtorch's CPU allocator (once per process; later calls do nothing).
void InstallCpuBlockCache();

// Frees every cached free block (blocks in use are unaffected).
void ReleaseCachedCpuBlocks();

// Free bytes held for reuse now.
size_t CachedCpuBlockBytes();

}  // namespace sphereface

// SPHEREFACE_VECTOR_CLONES before a function compiles it three times (baseline x86-64, AVX2,
// AVX-512F) and picks one by the CPU when the addon loads (GCC/Clang target_clones, an ELF
// ifunc). For memory-bound element-wise loops: the addon is built for baseline x86-64, and its
// 16-byte vectors reach about two thirds of the bandwidth that 32- or 64-byte ones do (the SGD
// check and update over 11 M weights, 2 threads, Intel Xeon: 18.5 ms baseline, 13.4 ms in the
// AVX-512 clone).
//
// The clones compute the same element-wise values: the build passes -ffp-contract=off, so no
// clone fuses a multiply and an add that the baseline rounds twice. An `omp simd` sum is added in
// lanes of the clone's width, so its last bits may differ between CPUs (as oneDNN's kernels'
// sums do). A helper is compiled into each clone only
// where it is inlined, hence SPHEREFACE_ALWAYS_INLINE on the loops such a function calls. Elsewhere
// (Apple, ARM, compilers without target_clones) the macro is empty and the baseline build runs.
#pragma once

#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define SPHEREFACE_VECTOR_CLONES __attribute__((target_clones("default", "avx2", "avx512f")))
#endif
#endif
#ifndef SPHEREFACE_VECTOR_CLONES
#define SPHEREFACE_VECTOR_CLONES
#endif

#define SPHEREFACE_ALWAYS_INLINE inline __attribute__((always_inline))

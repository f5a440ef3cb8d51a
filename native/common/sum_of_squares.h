// The sum of a row's squares, accumulated in double: a float32 row's squares overflow float32
// long before its norm does. Inlined, so it vectorises at the width of the vector clone that
// calls it (common/vector_clones.h).
#pragma once

#include <cstdint>

#include "common/vector_clones.h"

namespace sphereface {

template <typename T>
SPHEREFACE_ALWAYS_INLINE double SumOfSquares(const T* __restrict v, int64_t dim) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t k = 0; k < dim; ++k) sum += static_cast<double>(v[k]) * v[k];
  return sum;
}

}  // namespace sphereface

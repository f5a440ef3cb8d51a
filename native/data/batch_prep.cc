#include "data/batch_prep.h"

#include <ATen/Parallel.h>

namespace sphereface {

torch::Tensor PrepareBatch(const uint8_t* images, int64_t n, int64_t height, int64_t width,
                           const uint8_t* flip, const Normalisation& normalisation,
                           bool channels_last) {
  TORCH_CHECK(n > 0 && height > 0 && width > 0, "empty batch");
  TORCH_CHECK(normalisation.std > 0, "std must be positive, got ", normalisation.std);
  torch::Tensor out = torch::empty(
      {n, 3, height, width}, torch::TensorOptions(torch::kFloat32)
                                 .memory_format(channels_last ? torch::MemoryFormat::ChannelsLast
                                                              : torch::MemoryFormat::Contiguous));
  float* dst = out.data_ptr<float>();
  const int64_t plane = height * width;
  const float scale = static_cast<float>(1.0 / normalisation.std);
  const float shift = static_cast<float>(-normalisation.mean / normalisation.std);
  // A byte -> float table makes the conversion one load per channel value.
  float table[256];
  for (int v = 0; v < 256; ++v) table[v] = static_cast<float>(v) * scale + shift;
  at::parallel_for(0, n * height, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t i = row / height, y = row % height;
      const bool mirror = flip != nullptr && flip[i] != 0;
      const uint8_t* src = images + (row * width) * 3;
      if (channels_last) {
        float* to_row = dst + row * width * 3;
        for (int64_t x = 0; x < width; ++x) {
          const int64_t to = (mirror ? width - 1 - x : x) * 3;
          to_row[to] = table[src[3 * x]];
          to_row[to + 1] = table[src[3 * x + 1]];
          to_row[to + 2] = table[src[3 * x + 2]];
        }
        continue;
      }
      float* r = dst + i * 3 * plane + y * width;
      float* g = r + plane;
      float* b = g + plane;
      for (int64_t x = 0; x < width; ++x) {
        const int64_t to = mirror ? width - 1 - x : x;
        r[to] = table[src[3 * x]];
        g[to] = table[src[3 * x + 1]];
        b[to] = table[src[3 * x + 2]];
      }
    }
  });
  return out;
}

}  // namespace sphereface

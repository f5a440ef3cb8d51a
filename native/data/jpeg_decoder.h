// Plain JPEGs decoded by libjpeg(-turbo) in the calling thread: the decode workers' fast path
// (lib/data/image-decoder.ts). sharp reaches the same library through libvips, whose pipeline
// costs several times the decode itself on small images (threads handing strips to each other);
// called directly it gives the same bytes, Pillow's, with libjpeg's defaults (accurate integer
// IDCT, fancy upsampling). Anything this path does not settle exactly as Pillow would (CMYK,
// an EXIF orientation other than 1, a libjpeg warning or error, more pixels than allowed) is
// declined with a reason, and the caller decodes it the general way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace sphereface {

// libjpeg's version (e.g. "libjpeg-turbo 2.1.5"), or empty when built without it.
std::string JpegDecoderVersion();

struct JpegDecodeResult {
  bool decoded = false;
  int width = 0;
  int height = 0;
  // Why the image was declined (when !decoded).
  std::string declined;
};

// Decodes `bytes` to height x width x 3 RGB into the buffer that `allocate(bytes)` returns once
// the header is read (called at most once, only when the image is within `max_pixels`).
JpegDecodeResult DecodePlainJpeg(const uint8_t* bytes, size_t size, double max_pixels,
                                 const std::function<uint8_t*(size_t)>& allocate);

}  // namespace sphereface

#include "data/jpeg_decoder.h"

#ifdef SPHEREFACE_WITH_JPEG
#include <algorithm>
#include <csetjmp>
#include <cstring>
// jpeglib.h needs FILE and size_t declared before it.
// clang-format off
#include <cstdio>
#include <jpeglib.h>
// clang-format on
#endif

namespace sphereface {

#if defined(SPHEREFACE_WITH_JPEG) && defined(LIBJPEG_TURBO_VERSION_NUMBER)

namespace {

constexpr int kApp1 = JPEG_APP0 + 1;

// libjpeg's error manager, leaving by longjmp on any error or warning (warnings: a truncated
// file, bytes before a marker...: the general path decides what those mean).
struct DecodeErrors {
  jpeg_error_mgr mgr;
  std::jmp_buf leave;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void LeaveWithMessage(j_common_ptr info) {
  auto* errors = reinterpret_cast<DecodeErrors*>(info->err);
  errors->mgr.format_message(info, errors->message);
  std::longjmp(errors->leave, 1);
}

void EmitMessage(j_common_ptr info, int level) {
  if (level < 0) LeaveWithMessage(info);  // a warning; levels >= 0 are traces
}

// The EXIF orientation in an APP1 marker's data: 1 when it holds none (or is not EXIF, as XMP
// is), 0 when it cannot be read, else the tag's value.
int ExifOrientation(const uint8_t* data, size_t size) {
  if (size < 6 || std::memcmp(data, "Exif\0\0", 6) != 0) return 1;
  const uint8_t* tiff = data + 6;
  const size_t n = size - 6;
  if (n < 8) return 0;
  const bool little = tiff[0] == 'I' && tiff[1] == 'I';
  if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 0;
  auto u16 = [&](size_t at) -> uint32_t {
    return little ? tiff[at] | tiff[at + 1] << 8 : tiff[at] << 8 | tiff[at + 1];
  };
  auto u32 = [&](size_t at) -> uint32_t {
    return little ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2);
  };
  if (u16(2) != 42) return 0;
  const size_t ifd = u32(4);
  if (ifd > n - 2) return 0;
  const size_t entries = u16(ifd);
  if (entries * 12 > n - 2 - ifd) return 0;
  for (size_t i = 0; i < entries; ++i) {
    const size_t entry = ifd + 2 + 12 * i;
    if (u16(entry) != 0x0112) continue;
    const bool one_short = u16(entry + 2) == 3 && u32(entry + 4) == 1;
    return one_short ? static_cast<int>(u16(entry + 8)) : 0;
  }
  return 1;
}

// Why the header rules this image out of the fast path, or nullptr.
const char* DeclineReason(const jpeg_decompress_struct& info, double max_pixels) {
  const bool gray = info.jpeg_color_space == JCS_GRAYSCALE && info.num_components == 1;
  const bool colour = (info.jpeg_color_space == JCS_YCbCr || info.jpeg_color_space == JCS_RGB) &&
                      info.num_components == 3;
  if (!gray && !colour) return "not grayscale, YCbCr or RGB (CMYK, YCCK...)";
  if (info.data_precision != 8) return "not 8-bit";
  if (static_cast<double>(info.image_width) * info.image_height > max_pixels)
    return "over the pixel limit";
  for (jpeg_saved_marker_ptr m = info.marker_list; m != nullptr; m = m->next) {
    if (m->marker == kApp1 && ExifOrientation(m->data, m->data_length) != 1)
      return "an EXIF orientation to apply";
  }
  return nullptr;
}

// The decode proper: only trivially destructible locals, since errors leave by longjmp.
void Decode(jpeg_decompress_struct* info, DecodeErrors* errors, const uint8_t* bytes, size_t size,
            double max_pixels, const std::function<uint8_t*(size_t)>* allocate,
            JpegDecodeResult* result, const char** reason) {
  if (setjmp(errors->leave) != 0) {
    *reason = errors->message;
    return;
  }
  jpeg_mem_src(info, bytes, static_cast<unsigned long>(size));
  jpeg_save_markers(info, kApp1, 0xFFFF);
  jpeg_read_header(info, TRUE);
  if ((*reason = DeclineReason(*info, max_pixels)) != nullptr) return;
  info->out_color_space = JCS_RGB;
  jpeg_start_decompress(info);
  const size_t stride = static_cast<size_t>(info->output_width) * 3;
  uint8_t* out = (*allocate)(stride * info->output_height);
  if (out == nullptr) {
    *reason = "no memory for the pixels";
    return;
  }
  JSAMPROW rows[16];
  while (info->output_scanline < info->output_height) {
    const JDIMENSION first = info->output_scanline;
    const JDIMENSION count = std::min<JDIMENSION>(16, info->output_height - first);
    for (JDIMENSION r = 0; r < count; ++r) rows[r] = out + (first + r) * stride;
    jpeg_read_scanlines(info, rows, count);
  }
  jpeg_finish_decompress(info);
  result->decoded = true;
  result->width = static_cast<int>(info->output_width);
  result->height = static_cast<int>(info->output_height);
}

}  // namespace

std::string JpegDecoderVersion() {
  const int v = LIBJPEG_TURBO_VERSION_NUMBER;  // e.g. 2001005
  return "libjpeg-turbo " + std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) +
         "." + std::to_string(v % 1000);
}

JpegDecodeResult DecodePlainJpeg(const uint8_t* bytes, size_t size, double max_pixels,
                                 const std::function<uint8_t*(size_t)>& allocate) {
  JpegDecodeResult result;
  jpeg_decompress_struct info;
  DecodeErrors errors;
  info.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = LeaveWithMessage;
  errors.mgr.emit_message = EmitMessage;
  errors.message[0] = '\0';
  jpeg_create_decompress(&info);
  const char* reason = nullptr;
  Decode(&info, &errors, bytes, size, max_pixels, &allocate, &result, &reason);
  jpeg_destroy_decompress(&info);
  if (!result.decoded) result.declined = reason != nullptr ? reason : "declined";
  return result;
}

#else

// Without libjpeg-turbo (IJG's libjpeg 9 upsamples differently from Pillow) every JPEG goes the
// general way.
std::string JpegDecoderVersion() { return ""; }

JpegDecodeResult DecodePlainJpeg(const uint8_t*, size_t, double,
                                 const std::function<uint8_t*(size_t)>&) {
  JpegDecodeResult result;
  result.declined = "built without libjpeg-turbo";
  return result;
}

#endif

}  // namespace sphereface

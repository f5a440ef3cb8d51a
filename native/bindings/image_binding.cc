// Image decoding bindings:
//   decodeJpeg(bytes: Uint8Array, maxPixels: number)
//     -> { data: Uint8Array, width, height } | string   [sync] the RGB pixels of a plain JPEG, or
//     why it was declined (native/data/jpeg_decoder.h). Synchronous by design: the decode
//     workers call it on their own threads (a thread hand-off costs a good part of a small
//     image's decode); the main thread never does (lib/data/image-decoder.ts).
//   jpegDecoder() -> string                              [sync] the libjpeg behind it, or ''
#include <napi.h>

#include "bindings/bindings.h"
#include "common/typed_arrays.h"
#include "data/jpeg_decoder.h"

namespace sphereface {

namespace {

Napi::Value DecodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = ExpectUint8Array(info[0], "bytes");
  const double max_pixels = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  if (!(max_pixels > 0))  // NaN too
    throw Napi::TypeError::New(env, "decodeJpeg: expected a positive number for maxPixels");
  Napi::ArrayBuffer pixels;
  // The pixels are decoded straight into the ArrayBuffer handed back: no copy.
  const JpegDecodeResult result =
      DecodePlainJpeg(bytes.Data(), bytes.ByteLength(), max_pixels, [&](size_t size) {
        try {
          pixels = Napi::ArrayBuffer::New(env, size);
          return static_cast<uint8_t*>(pixels.Data());
        } catch (const Napi::Error&) {
          return static_cast<uint8_t*>(nullptr);  // declined; libjpeg's state is freed
        }
      });
  if (!result.decoded) return Napi::String::New(env, result.declined);
  Napi::Object image = Napi::Object::New(env);
  image.Set("data", Napi::Uint8Array::New(env, pixels.ByteLength(), pixels, 0));
  image.Set("width", result.width);
  image.Set("height", result.height);
  return image;
}

}  // namespace

void InitImage(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJpeg", Napi::Function::New(env, DecodeJpeg, "decodeJpeg"));
  exports.Set("jpegDecoder", Napi::Function::New(
                                 env,
                                 [](const Napi::CallbackInfo& info) -> Napi::Value {
                                   return Napi::String::New(info.Env(), JpegDecoderVersion());
                                 },
                                 "jpegDecoder"));
}

}  // namespace sphereface

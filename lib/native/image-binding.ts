// The native side of image decoding, as lib/native loads it (native/bindings/image_binding.cc).

export interface ImageBinding {
  /**
   * A plain JPEG's RGB pixels, decoded by libjpeg-turbo on the calling thread (synchronous: the
   * decode workers' path, never the main thread's); or why it was declined (CMYK, an EXIF
   * orientation, a libjpeg warning or error, over `maxPixels`, a build without libjpeg-turbo).
   */
  decodeJpeg(
    bytes: Uint8Array,
    maxPixels: number,
  ): { data: Uint8Array; width: number; height: number } | string;
  /** The libjpeg-turbo behind decodeJpeg ("libjpeg-turbo 2.1.5"), or '' when built without. */
  jpegDecoder(): string;
}

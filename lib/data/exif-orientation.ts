// EXIF orientation (tag 0x0112) of a JPEG, read straight from its APP1 segment, and the pixel
// shuffle that undoes it. Cameras store the sensor's pixels and a tag saying how to turn them.

/** Orientation 1..8 from a JPEG's EXIF block; 1 when there is none or it cannot be read. */
export function jpegExifOrientation(jpeg: Uint8Array): number {
  let p = 2; // after SOI
  while (p + 4 <= jpeg.length) {
    if (jpeg[p] !== 0xff) return 1;
    const marker = jpeg[p + 1];
    if (marker === 0xda || marker === 0xd9) return 1; // start of scan / end: no EXIF before
    const length = (jpeg[p + 2] << 8) | jpeg[p + 3];
    if (length < 2) return 1;
    if (marker === 0xe1 && length >= 8) {
      const seg = p + 4;
      // "Exif\0\0"
      if (
        jpeg[seg] === 0x45 &&
        jpeg[seg + 1] === 0x78 &&
        jpeg[seg + 2] === 0x69 &&
        jpeg[seg + 3] === 0x66
      ) {
        const found = tiffOrientation(
          jpeg.subarray(seg + 6, Math.min(jpeg.length, p + 2 + length)),
        );
        if (found) return found;
      }
    }
    p += 2 + length;
  }
  return 1;
}

function tiffOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 0;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 0;
  const u16 = (o: number) => (little ? tiff[o] | (tiff[o + 1] << 8) : (tiff[o] << 8) | tiff[o + 1]);
  const u32 = (o: number) => (little ? u16(o) + u16(o + 2) * 65536 : u16(o) * 65536 + u16(o + 2));
  if (u16(2) !== 42) return 0;
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return 0;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > tiff.length) return 0;
    if (u16(e) === 0x0112) {
      const value = u16(e + 8);
      return value >= 1 && value <= 8 ? value : 0;
    }
  }
  return 0;
}

/**
 * Turns stored RGB pixels (width x height) upright for EXIF orientation 2..8 (the mapping of
 * the EXIF spec; 5..8 swap width and height).
 */
export function applyOrientation(
  data: Uint8Array,
  width: number,
  height: number,
  orientation: number,
): { data: Uint8Array; width: number; height: number } {
  if (orientation < 2 || orientation > 8) return { data, width, height };
  const swap = orientation > 4;
  const outW = swap ? height : width;
  const outH = swap ? width : height;
  const out = new Uint8Array(data.length);
  let o = 0;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++, o += 3) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2:
          [sx, sy] = [width - 1 - x, y];
          break;
        case 3:
          [sx, sy] = [width - 1 - x, height - 1 - y];
          break;
        case 4:
          [sx, sy] = [x, height - 1 - y];
          break;
        case 5:
          [sx, sy] = [y, x];
          break;
        case 6:
          [sx, sy] = [y, height - 1 - x];
          break;
        case 7:
          [sx, sy] = [width - 1 - y, height - 1 - x];
          break;
        default:
          [sx, sy] = [width - 1 - y, x];
      }
      const s = (sy * width + sx) * 3;
      out[o] = data[s];
      out[o + 1] = data[s + 1];
      out[o + 2] = data[s + 2];
    }
  }
  return { data: out, width: outW, height: outH };
}

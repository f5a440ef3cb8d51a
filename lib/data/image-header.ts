// Facts read from an image's first bytes before decoding, where sharp's own header reading does
// not serve: the colour components of a JPEG (a CMYK JPEG takes its own path to match Pillow),
// and the size of a BMP (decoded by jimp, which has no pixel limit of its own).

/** Components in a JPEG's frame header (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK); 0 when none found. */
export function jpegComponents(jpeg: Uint8Array): number {
  let p = 2; // after SOI
  while (p + 4 <= jpeg.length && jpeg[p] === 0xff) {
    const marker = jpeg[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return 0; // end of image, start of scan: no frame
    const length = (jpeg[p + 2] << 8) | jpeg[p + 3];
    // SOF0..SOF15 without DHT (c4), JPG (c8) and DAC (cc): length, precision, height, width, Nf.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return p + 9 < jpeg.length ? jpeg[p + 9] : 0;
    if (length < 2) return 0;
    p += 2 + length;
  }
  return 0;
}

/** Width and height a BMP declares (a top-down BMP's negative height made positive), or null. */
export function bmpSize(bmp: Uint8Array): { width: number; height: number } | null {
  if (bmp.length < 26) return null;
  const view = new DataView(bmp.buffer, bmp.byteOffset, bmp.byteLength);
  const headerSize = view.getUint32(14, true);
  if (headerSize === 12)
    return { width: view.getUint16(18, true), height: view.getUint16(20, true) };
  return { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) };
}

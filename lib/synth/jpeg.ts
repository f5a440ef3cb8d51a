// JPEG encoding through jimp (pure JavaScript, so the output bytes are the same on every machine).
import { Jimp } from 'jimp';

export const JPEG_QUALITY = 85;

/** Encodes width x height x 3 RGB pixels as a baseline JPEG. */
export async function encodeJpeg(
  rgb: Uint8Array,
  width: number,
  height: number,
  quality = JPEG_QUALITY,
): Promise<Buffer> {
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    rgba[j] = rgb[i];
    rgba[j + 1] = rgb[i + 1];
    rgba[j + 2] = rgb[i + 2];
    rgba[j + 3] = 255;
  }
  const image = new Jimp({ width, height, data: rgba });
  return image.getBuffer('image/jpeg', { quality });
}

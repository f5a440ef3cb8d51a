// Image file -> uint8 height x width x 3 RGB at a model's input size: scale so the shorter side
// fits, then crop the centre (jimp's cover). Kept behind this one function so the data
// pipeline's loader can replace it without touching the callers.
import { Jimp } from 'jimp';

export async function decodeFaceImage(
  file: string,
  height: number,
  width: number,
): Promise<Uint8Array> {
  let image;
  try {
    image = await Jimp.read(file);
  } catch (e) {
    throw new Error(`Could not decode image ${file}: ${(e as Error).message}`);
  }
  if (image.bitmap.width !== width || image.bitmap.height !== height) {
    image.cover({ w: width, h: height });
  }
  const rgba = image.bitmap.data;
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) {
    out[3 * i] = rgba[4 * i];
    out[3 * i + 1] = rgba[4 * i + 1];
    out[3 * i + 2] = rgba[4 * i + 2];
  }
  return out;
}

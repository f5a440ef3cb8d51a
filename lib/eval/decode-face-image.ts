// Image file -> uint8 height x width x 3 RGB at a model's input size, with the data pipeline's
// decoder (EXIF orientation applied) and transforms: torchvision-style Resize of the shorter
// side to max(height, width), so both sides cover the input, then CenterCrop to height x width.
import * as fs from 'node:fs/promises';
import { decodeImage } from '../data/image-decoder';
import { CenterCrop } from '../data/transforms/center-crop';
import { Resize } from '../data/transforms/resize';
import type { DeterministicTransform } from '../data/transforms/transform';

/** The transforms that bring any image to height x width (what `embedFiles` uses). */
export function faceImageTransforms(height: number, width: number): DeterministicTransform[] {
  return [new Resize(Math.max(height, width)), new CenterCrop([height, width])];
}

export async function decodeFaceImage(
  file: string,
  height: number,
  width: number,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    throw new Error(`Could not read image ${file}: ${(e as Error).message}`);
  }
  let image;
  try {
    image = await decodeImage(bytes);
  } catch (e) {
    throw new Error(`Could not decode image ${file}: ${(e as Error).message}`);
  }
  for (const t of faceImageTransforms(height, width)) image = t.apply(image);
  return image.data;
}

// The deterministic preprocessing (run once, at cache time) that turns a dataset's photos into
// the arch's input size: the seed's Resize(96) for sphere-cnn4; for the 112x96 nets the
// 5-point alignment onto SphereFace's template when landmarks are given, else resize + crop.
import { CenterCrop } from '../data/transforms/center-crop';
import { FaceAlign } from '../data/transforms/face-align';
import { Resize } from '../data/transforms/resize';
import type { DeterministicTransform } from '../data/transforms/transform';
import { inputSizeOf } from '../models/archs';
import type { Arch } from '../models/types';

export function preprocessFor(arch: Arch, aligned: boolean): DeterministicTransform[] {
  return preprocessToSize(inputSizeOf(arch), aligned);
}

/** The same for a height x width of one's choice (`sphereface prepare --size`). */
export function preprocessToSize(
  { height, width }: { height: number; width: number },
  aligned: boolean,
): DeterministicTransform[] {
  if (aligned && height === 112 && width === 96) return [new FaceAlign()];
  if (height === width) return [new Resize(height), new CenterCrop(height)];
  return [new Resize(Math.max(height, width)), new CenterCrop([height, width])];
}

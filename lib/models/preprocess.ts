// The deterministic preprocessing that brings a photo to an arch's input, stated once for
// training sets, evaluation sets and single files: with 5-point landmarks, the alignment onto
// SphereFace's 112x96 template; otherwise resized to just cover the input and the centre
// cropped (for sphere-cnn4's square input, the seed's Resize(96) and centre crop).
import { CenterCrop } from '../data/transforms/center-crop';
import { FaceAlign } from '../data/transforms/face-align';
import { ResizeToCover } from '../data/transforms/resize';
import type { DeterministicTransform } from '../data/transforms/transform';

export function inputTransforms(
  inputSize: { height: number; width: number },
  options: { aligned?: boolean } = {},
): DeterministicTransform[] {
  const { height, width } = inputSize;
  if (options.aligned && height === 112 && width === 96) return [new FaceAlign()];
  return [new ResizeToCover(height, width), new CenterCrop([height, width])];
}

// The deterministic preprocessing that brings a photo to an arch's input, stated once for
// training sets, evaluation sets and single files: with 5-point landmarks, the alignment onto
// SphereFace's 112x96 template; otherwise resized to just cover the input and the centre
// cropped (for sphere-cnn4's square input, the seed's Resize(96) and centre crop).
import { CenterCrop } from '../data/transforms/center-crop';
import { FaceAlign } from '../data/transforms/face-align';
import { ResizeToCover } from '../data/transforms/resize';
import type { DeterministicTransform } from '../data/transforms/transform';

/** Why faces cannot be aligned for a net of this input size, or undefined when they can. */
export function alignmentRefusal(inputSize: { height: number; width: number }): string | undefined {
  const { height, width } = inputSize;
  if (height === 112 && width === 96) return undefined;
  return (
    `landmarks and boxes align faces for the 112x96 nets; this model takes ${height}x${width} ` +
    'whole images (resized and centre-cropped), as it was trained'
  );
}

/** The transforms to an input of this size; `aligned`: onto the template, by five points. */
export function inputTransforms(
  inputSize: { height: number; width: number },
  options: { aligned?: boolean } = {},
): DeterministicTransform[] {
  const { height, width } = inputSize;
  if (options.aligned) {
    const refusal = alignmentRefusal(inputSize);
    if (refusal) throw new Error(refusal);
    return [new FaceAlign()];
  }
  return [new ResizeToCover(height, width), new CenterCrop([height, width])];
}

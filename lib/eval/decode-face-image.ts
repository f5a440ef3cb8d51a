// The transforms that bring a face image to a model's input size, as the data pipeline applies
// them after decoding (on its worker pool): torchvision-style Resize of the shorter side to
// max(height, width), so both sides cover the input, then CenterCrop to height x width.
import { CenterCrop } from '../data/transforms/center-crop';
import { Resize } from '../data/transforms/resize';
import type { DeterministicTransform } from '../data/transforms/transform';

/** The transforms that bring any image to height x width (what `embedFiles` uses). */
export function faceImageTransforms(height: number, width: number): DeterministicTransform[] {
  return [new Resize(Math.max(height, width)), new CenterCrop([height, width])];
}

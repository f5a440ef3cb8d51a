import { CenterCrop } from './center-crop';
import type { FivePoints, RawImage } from './raw-image';
import { Resize, ResizeToCover, resizeBilinear } from './resize';
import type { DeterministicTransform } from './transform';

/**
 * Runs the transforms in order. A resize followed by a centre crop that lies inside the resized
 * image is done in one step that computes only the pixels the crop keeps (the same bytes); the
 * resize's outputSize refuses a size past the pixel limit either way.
 */
export function applyTransforms(
  image: RawImage,
  transforms: readonly DeterministicTransform[],
  landmarks?: FivePoints,
): RawImage {
  for (let i = 0; i < transforms.length; i++) {
    const t = transforms[i];
    const next = transforms[i + 1];
    if ((t instanceof Resize || t instanceof ResizeToCover) && next instanceof CenterCrop) {
      const [outH, outW] = t.outputSize(image.height, image.width);
      const [top, left] = next.offset(outH, outW);
      const { height, width } = next;
      if (top >= 0 && left >= 0 && top + height <= outH && left + width <= outW) {
        image = resizeBilinear(image, outW, outH, { top, left, height, width });
        i++;
        continue;
      }
    }
    image = t.apply(image, landmarks);
  }
  return image;
}

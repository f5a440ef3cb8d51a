import { sizeArgument, type DeterministicTransform, type TransformSpec } from './transform';
import type { RawImage } from './raw-image';

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Crops the centre like torchvision's CenterCrop: offsets round((H - h) / 2) with Python's
 * rounding; a crop larger than the image is padded with black first, as torchvision does.
 */
export class CenterCrop implements DeterministicTransform {
  readonly random = false;
  readonly height: number;
  readonly width: number;

  /** `size`: n (n x n) or [height, width], at most MAX_OUTPUT_PIXELS (50 million) pixels. */
  constructor(size: number | [number, number]) {
    [this.height, this.width] = sizeArgument(size, 'CenterCrop');
  }

  spec(): TransformSpec {
    return { kind: 'center-crop', height: this.height, width: this.width };
  }

  apply(image: RawImage): RawImage {
    const [top, left] = this.offset(image.height, image.width);
    return cropWithZeros(image, top, left, this.height, this.width);
  }

  /** Where the crop starts in an srcH x srcW image (negative: black padding first). */
  offset(srcH: number, srcW: number): [number, number] {
    // torchvision pads (left/top get floor of half the shortfall), then crops with round().
    const padTop = srcH < this.height ? Math.floor((this.height - srcH) / 2) : 0;
    const padLeft = srcW < this.width ? Math.floor((this.width - srcW) / 2) : 0;
    const paddedH = Math.max(srcH, this.height);
    const paddedW = Math.max(srcW, this.width);
    return [
      roundHalfEven((paddedH - this.height) / 2) - padTop,
      roundHalfEven((paddedW - this.width) / 2) - padLeft,
    ];
  }
}

/** Copies the window at (top, left) of size h x w; pixels outside the image are black. */
export function cropWithZeros(
  image: RawImage,
  top: number,
  left: number,
  h: number,
  w: number,
): RawImage {
  const out = new Uint8Array(h * w * 3);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(w, image.width - left);
  if (x1 > x0) {
    for (let y = 0; y < h; y++) {
      const sy = y + top;
      if (sy < 0 || sy >= image.height) continue;
      const from = (sy * image.width + left + x0) * 3;
      out.set(image.data.subarray(from, from + (x1 - x0) * 3), (y * w + x0) * 3);
    }
  }
  return { data: out, width: w, height: h };
}

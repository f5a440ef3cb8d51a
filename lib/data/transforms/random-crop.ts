import { sizeArgument } from './transform';
import type { Random } from '../../util/random';
import { expectOptions } from '../../util/option-keys';

/**
 * torchvision's RandomCrop(size, padding): pad every side with `padding` black pixels, then cut
 * a size window at a uniformly drawn offset. Runs per batch in the DataLoader, seeded.
 */
export class RandomCrop {
  readonly random = true;
  readonly height: number;
  readonly width: number;
  readonly padding: number;

  constructor(size: number | [number, number], options: { padding?: number } = {}) {
    [this.height, this.width] = sizeArgument(size, 'RandomCrop');
    expectOptions(options, 'RandomCrop options', { padding: true });
    const padding = options.padding ?? 0;
    if (!Number.isInteger(padding) || padding < 0) {
      throw new Error(
        `RandomCrop: expected non-negative integer for padding but received ${String(padding)}`,
      );
    }
    this.padding = padding;
  }

  /** Checks the crop fits the padded source; returns the offset ranges. */
  ranges(srcH: number, srcW: number): [number, number] {
    const rangeY = srcH + 2 * this.padding - this.height + 1;
    const rangeX = srcW + 2 * this.padding - this.width + 1;
    if (rangeY < 1 || rangeX < 1) {
      throw new Error(
        `RandomCrop: a ${this.height}x${this.width} crop does not fit ${srcH}x${srcW} images padded by ${this.padding}`,
      );
    }
    return [rangeY, rangeX];
  }

  /**
   * Draws one crop's (top, left) in the unpadded source's pixels (negative inside the padding):
   * two numbers from `rng`, top first.
   */
  offset(srcH: number, srcW: number, rng: Random): [number, number] {
    const [rangeY, rangeX] = this.ranges(srcH, srcW);
    const top = rng.int(rangeY) - this.padding;
    return [top, rng.int(rangeX) - this.padding];
  }

  /**
   * Writes one crop of `src` (srcH x srcW x 3) into `dst` (height x width x 3). Offsets are in
   * padded coordinates; draws two numbers from `rng`.
   */
  cropInto(src: Uint8Array, srcH: number, srcW: number, dst: Uint8Array, rng: Random): void {
    const [top, left] = this.offset(srcH, srcW, rng);
    const x0 = Math.max(0, -left);
    const x1 = Math.min(this.width, srcW - left);
    const rowBytes = this.width * 3;
    for (let y = 0; y < this.height; y++) {
      const sy = y + top;
      const row = dst.subarray(y * rowBytes, (y + 1) * rowBytes);
      if (sy < 0 || sy >= srcH || x1 <= x0) {
        row.fill(0);
        continue;
      }
      if (x0 > 0) row.fill(0, 0, x0 * 3);
      if (x1 < this.width) row.fill(0, x1 * 3);
      const from = (sy * srcW + left + x0) * 3;
      row.set(src.subarray(from, from + (x1 - x0) * 3), x0 * 3);
    }
  }
}

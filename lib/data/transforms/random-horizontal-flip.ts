import type { Random } from '../../util/random';

/**
 * Mirrors images with probability p. It only sets the batch's `flip` mask: the consumer (the
 * native batch preparation) mirrors while it converts, so no pixels are copied here.
 */
export class RandomHorizontalFlip {
  readonly random = true;
  readonly p: number;

  constructor(p = 0.5) {
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) {
      throw new Error(`RandomHorizontalFlip: expected p in [0, 1] but received ${String(p)}`);
    }
    this.p = p;
  }

  /** Fills `flip` with 1 where an image is to be mirrored; one draw per image. */
  decide(flip: Uint8Array, rng: Random): void {
    for (let i = 0; i < flip.length; i++) flip[i] = rng.next() < this.p ? 1 : 0;
  }
}

/** Mirrors n images (h x w x 3 each) in place where flip[i] is nonzero: for users and tests. */
export function applyFlips(
  images: Uint8Array,
  n: number,
  height: number,
  width: number,
  flip: Uint8Array,
): void {
  for (let i = 0; i < n; i++) {
    if (!flip[i]) continue;
    for (let y = 0; y < height; y++) {
      const row = (i * height + y) * width * 3;
      for (let x = 0; x < width >> 1; x++) {
        const l = row + x * 3;
        const r = row + (width - 1 - x) * 3;
        for (let c = 0; c < 3; c++) {
          const t = images[l + c];
          images[l + c] = images[r + c];
          images[r + c] = t;
        }
      }
    }
  }
}

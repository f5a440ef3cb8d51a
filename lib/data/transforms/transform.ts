import { describeReceived } from '../../util/describe-received';
import { DEFAULT_MAX_PIXELS } from '../image-decoder';
import type { FivePoints, RawImage } from './raw-image';

/**
 * The most pixels a transform makes: the decoder's default limit on an input image, far beyond a
 * face crop (112 x 96), and what keeps a typo's size from allocating gigabytes per image.
 */
export const MAX_OUTPUT_PIXELS = DEFAULT_MAX_PIXELS;

/** Plain-data description of a transform: sent to decode workers and hashed into cache keys. */
export type TransformSpec =
  | { kind: 'resize'; size: number | [number, number] }
  | { kind: 'resize-to-cover'; height: number; width: number }
  | { kind: 'center-crop'; height: number; width: number }
  | {
      kind: 'face-align';
      width: number;
      height: number;
      template: number[];
    };

/**
 * A transform that gives the same output for the same input, so it runs once, when the cache is
 * built (in a decode worker). Random augmentation is the loader's job (RandomCrop,
 * RandomHorizontalFlip).
 */
export interface DeterministicTransform {
  readonly random: false;
  spec(): TransformSpec;
  apply(image: RawImage, landmarks?: FivePoints): RawImage;
}

export function positiveInteger(value: unknown, name: string, who: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(
      `${who}: expected positive integer for ${name} but received ${describeReceived(value)}`,
    );
  }
  return value;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Refuses an output of more than MAX_OUTPUT_PIXELS; `what` says where its size came from. */
export function checkOutputPixels(height: number, width: number, what: string, who: string): void {
  if (height * width > MAX_OUTPUT_PIXELS) {
    throw new RangeError(
      `${who}: ${what} makes ${height}x${width} = ${count(height * width)} pixels, over the ` +
        `limit of ${count(MAX_OUTPUT_PIXELS)} per image`,
    );
  }
}

/** A size argument, n (n x n) or [height, width], as positive integers within the pixel limit. */
export function sizeArgument(size: unknown, who: string): [number, number] {
  if (!Array.isArray(size)) {
    const n = positiveInteger(size, 'size', who);
    checkOutputPixels(n, n, `size ${n}`, who);
    return [n, n];
  }
  if (size.length !== 2) {
    throw new Error(
      `${who}: expected [height, width] for size but received ${size.length} numbers`,
    );
  }
  const height = positiveInteger(size[0], 'size[0] (height)', who);
  const width = positiveInteger(size[1], 'size[1] (width)', who);
  checkOutputPixels(height, width, `size [${height}, ${width}]`, who);
  return [height, width];
}

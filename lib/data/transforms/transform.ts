import type { FivePoints, RawImage } from './raw-image';

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
      `${who}: expected positive integer for ${name} but received ${String(value)} of type ${typeof value}`,
    );
  }
  return value;
}

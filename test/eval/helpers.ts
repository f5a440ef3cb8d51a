// Small deterministic helpers shared by the evaluation tests.
import { loadImages } from '../../lib/data/load-images';
import { inputTransforms } from '../../lib/models/preprocess';
import { Random } from '../../lib/util/random';

/** A seeded uniform [0, 1) generator, so every test makes the same data on every run. */
export function seededUniform(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** One image file decoded and brought to height x width as models see it. */
export async function decodeAtInputSize(
  file: string,
  height: number,
  width: number,
): Promise<Uint8Array> {
  const set = await loadImages([file], { transforms: inputTransforms({ height, width }) });
  return set.images;
}

/** The error a promise rejects with; fails the test when it resolves. */
export { rejection } from '../rejection';

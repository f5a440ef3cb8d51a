// One image of the generated set, described by numbers only so that it can be sent to a worker:
// the identity and the photo are re-derived there from the seed, and the bytes written do not
// depend on which thread renders them.
import { renderFace } from './face-renderer';
import { sampleIdentity, type IdentityParams } from './identity';
import { encodeJpeg, JPEG_QUALITY } from './jpeg';
import { Random } from '../util/random';
import { sampleVariation, type VariationOptions } from './variation';
import { writeFileAtomic } from '../util/atomic-write';

/** Stream labels: training and held-out people come from different streams, so never coincide. */
export const TRAIN_SET = 1;
export const HELD_OUT_SET = 2;

export interface ImageJob {
  seed: number;
  set: number;
  identity: number;
  image: number;
  file: string;
  variation: VariationOptions;
}

export function identityFor(seed: number, set: number, identity: number): IdentityParams {
  return sampleIdentity(new Random(seed, set, identity));
}

/** Renders, encodes and writes one image; returns its five landmarks. */
export async function runImageJob(job: ImageJob): Promise<number[]> {
  const identity = identityFor(job.seed, job.set, job.identity);
  const variation = sampleVariation(
    new Random(job.seed, job.set, job.identity, job.image, 7),
    job.variation,
  );
  const face = renderFace(identity, variation);
  const jpeg = await encodeJpeg(face.rgb, face.width, face.height, JPEG_QUALITY);
  // Thousands of images: skip the fsync; synth.json, written last and durably, marks a whole set.
  await writeFileAtomic(job.file, jpeg, { durable: false });
  return face.landmarks;
}

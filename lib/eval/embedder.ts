// The raw-pixel baseline: it embeds like a model, so the evaluator scores it on the same pairs
// and says how much of a verification figure the network adds.
import { applyFlips } from '../data/transforms/random-horizontal-flip';
import { NORMALISATION } from '../models/defaults';
import type { Embedder } from '../models/embed-images';

/**
 * Pixels as the feature vector: (p - 127.5) / 128, the normalisation the nets see, so cosine
 * similarity of these vectors is "raw-pixel cosine", the floor a trained model must beat.
 */
export function rawPixelEmbedder(
  height: number,
  width: number,
): Embedder & { readonly inputSize: { height: number; width: number } } {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Expected positive integer for ${name} but received ${v}`);
    }
  }
  const dim = height * width * 3;
  const { mean, std } = NORMALISATION;
  return {
    embeddingDim: dim,
    inputSize: { height, width },
    mirrorPermutesFeatures: true,
    embed(images: Uint8Array, n: number, flip?: Uint8Array): Promise<Float32Array> {
      if (images.length !== n * dim) {
        return Promise.reject(
          new Error(
            `Expected ${n} x ${height} x ${width} x 3 = ${n * dim} bytes but received ${images.length}`,
          ),
        );
      }
      let pixels = images;
      if (flip?.some((f) => f !== 0)) {
        pixels = images.slice();
        applyFlips(pixels, n, height, width, flip);
      }
      const out = new Float32Array(n * dim);
      for (let i = 0; i < out.length; i++) out[i] = (pixels[i] - mean) / std;
      return Promise.resolve(out);
    },
  };
}

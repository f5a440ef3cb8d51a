// Cosine scores of verification pairs from per-image features, optionally after subtracting a
// mean feature computed on some folds only (the original SphereFace protocol), in float64.
import type { VerificationPair } from '../data/types';

/** Unit-length copies (rows) of the images the pairs use, after subtracting `mean` if given. */
function normalizedRows(
  features: Float64Array,
  dim: number,
  used: Uint8Array,
  mean?: Float64Array,
  out: Float64Array = new Float64Array(features.length),
): Float64Array {
  for (let i = 0; i < used.length; i++) {
    if (!used[i]) continue;
    let sq = 0;
    for (let k = 0; k < dim; k++) {
      const v = features[i * dim + k] - (mean ? mean[k] : 0);
      out[i * dim + k] = v;
      sq += v * v;
    }
    // A zero vector has no direction: its cosine with anything is taken as 0.
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let k = 0; k < dim; k++) out[i * dim + k] *= inv;
  }
  return out;
}

/** Which of `images` the pairs use; a pair indexing none of them is named (and its line). */
export function checkIndices(pairs: readonly VerificationPair[], images: number): Uint8Array {
  const used = new Uint8Array(images);
  pairs.forEach((p, i) => {
    for (const side of ['a', 'b'] as const) {
      const v = p[side];
      if (!Number.isInteger(v) || v < 0 || v >= images) {
        const line = typeof p.line === 'number' ? ` (line ${p.line})` : '';
        throw new Error(
          `Expected pairs[${i}].${side}${line} to index one of ${images} images but received ${v}`,
        );
      }
      used[v] = 1;
    }
  });
  return used;
}

function cosines(
  unit: Float64Array,
  dim: number,
  pairs: readonly VerificationPair[],
): Float64Array {
  const scores = new Float64Array(pairs.length);
  pairs.forEach((p, i) => {
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += unit[p.a * dim + k] * unit[p.b * dim + k];
    scores[i] = dot;
  });
  return scores;
}

/** Cosine similarity of every pair. */
export function pairCosines(
  features: Float64Array,
  dim: number,
  pairs: readonly VerificationPair[],
): Float64Array {
  const used = checkIndices(pairs, features.length / dim);
  return cosines(normalizedRows(features, dim, used), dim, pairs);
}

/**
 * Cosine similarity of every pair after subtracting the mean of the features on both sides of
 * the pairs NOT in `heldOutFold` (an image in several pairs counts once per appearance, as in
 * the original evaluation.m).
 */
export function pairCosinesMinusTrainingMean(
  features: Float64Array,
  dim: number,
  pairs: readonly VerificationPair[],
  heldOutFold: number,
  scratch?: Float64Array, // features.length values, reused across folds to spare allocations
): Float64Array {
  const used = checkIndices(pairs, features.length / dim);
  const mean = new Float64Array(dim);
  let count = 0;
  for (const p of pairs) {
    if (p.fold === heldOutFold) continue;
    for (const img of [p.a, p.b]) {
      for (let k = 0; k < dim; k++) mean[k] += features[img * dim + k];
      count++;
    }
  }
  if (count === 0) throw new Error(`Expected pairs outside fold ${heldOutFold} to compute a mean`);
  for (let k = 0; k < dim; k++) mean[k] /= count;
  if (scratch && scratch.length !== features.length) {
    throw new Error(`Expected a scratch buffer of ${features.length} values`);
  }
  return cosines(normalizedRows(features, dim, used, mean, scratch), dim, pairs);
}

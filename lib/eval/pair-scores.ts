// Cosine scores of verification pairs from per-image features, optionally after subtracting a
// mean feature computed on some folds only (the original SphereFace protocol), in float64.
import type { VerificationPair } from '../data/types';

/**
 * Squared lengths of the rows the pairs use, after subtracting `mean` if given. The scores are
 * computed from these and the rows in place: a normalised copy of raw-pixel features at LFW size
 * would take gigabytes.
 */
function squaredLengths(
  features: Float64Array,
  dim: number,
  used: Uint8Array,
  mean?: Float64Array,
): Float64Array {
  const lengths = new Float64Array(used.length);
  for (let i = 0; i < used.length; i++) {
    if (!used[i]) continue;
    let sq = 0;
    for (let k = 0; k < dim; k++) {
      const v = features[i * dim + k] - (mean ? mean[k] : 0);
      sq += v * v;
    }
    lengths[i] = sq;
  }
  return lengths;
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
  features: Float64Array,
  dim: number,
  pairs: readonly VerificationPair[],
  used: Uint8Array,
  mean?: Float64Array,
): Float64Array {
  const lengths = squaredLengths(features, dim, used, mean);
  const scores = new Float64Array(pairs.length);
  pairs.forEach((p, i) => {
    // A zero vector has no direction: its cosine with anything is taken as 0.
    const norms = Math.sqrt(lengths[p.a]) * Math.sqrt(lengths[p.b]);
    if (norms === 0) return;
    const a = p.a * dim;
    const b = p.b * dim;
    let dot = 0;
    if (mean) {
      for (let k = 0; k < dim; k++)
        dot += (features[a + k] - mean[k]) * (features[b + k] - mean[k]);
    } else {
      for (let k = 0; k < dim; k++) dot += features[a + k] * features[b + k];
    }
    scores[i] = dot / norms;
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
  return cosines(features, dim, pairs, used);
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
  return cosines(features, dim, pairs, used, mean);
}

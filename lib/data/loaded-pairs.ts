// Pairs after a load that may have skipped images (onBadImage: 'skip'): those that lost an
// image are left out and reported, the rest re-indexed into the loaded set. One home for the
// LFW folder and the insightface .bin.
import type { LoadedImages } from './load-images';
import type { VerificationPair } from './types';

/** A pair left out (onBadImage: 'skip'), with its pairs-file line (a .bin: its pair number). */
export interface SkippedPair {
  line: number;
  reason: string;
}

/**
 * `pairs` index the images given to loadImages; `images.kept` says where each landed. `nameOf`
 * names an input image in the reasons.
 */
export function pairsOfLoadedImages(
  pairs: readonly VerificationPair[],
  images: LoadedImages,
  nameOf: (input: number) => string,
  inputs: number,
): { pairs: VerificationPair[]; skippedPairs: SkippedPair[] } {
  const position = new Int32Array(inputs).fill(-1);
  images.kept.forEach((input, i) => (position[input] = i));
  const reasons = new Map(images.skipped.map((s) => [s.index, s.reason]));
  const kept: VerificationPair[] = [];
  const skippedPairs: SkippedPair[] = [];
  for (const p of pairs) {
    const a = position[p.a];
    const b = position[p.b];
    if (a < 0 || b < 0) {
      const bad = a < 0 ? p.a : p.b;
      skippedPairs.push({
        line: p.line,
        reason: `${nameOf(bad)}: ${reasons.get(bad) ?? 'not loaded'}`,
      });
      continue;
    }
    kept.push({ ...p, a, b });
  }
  return { pairs: kept, skippedPairs };
}

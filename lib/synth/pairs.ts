// The held-out identities' pairs.txt: LFW's standard form, drawn by the data layer's pair folds
// (each identity in one fold only, so a threshold chosen on nine folds never saw the tenth's
// people), with 1-based image numbers.
import { formatPairsFile, type PairLine } from '../data/pairs-file';
import { drawPairFolds } from '../data/verification-pairs';
import type { Random } from '../util/random';

/** The text of pairs.txt for `names` (sorted), each with `imagesPerIdentity` images. */
export function drawPairsFile(
  names: readonly string[],
  imagesPerIdentity: number,
  folds: number,
  pairsPerFold: number,
  random: Random,
): string {
  if (imagesPerIdentity < 2) {
    throw new RangeError(
      `heldOutImages must be at least 2 to form matched pairs, got ${imagesPerIdentity}`,
    );
  }
  const drawn = drawPairFolds(
    names.map(() => imagesPerIdentity),
    {
      folds,
      perKind: pairsPerFold,
      random,
      sizeOption: `pairsPerFold = ${pairsPerFold}`,
      identitiesAdvice: 'lower folds or raise heldOutIdentities',
      pairsAdvice: 'lower pairsPerFold or folds, or raise heldOutIdentities or heldOutImages',
    },
  );
  const lines: Omit<PairLine, 'fold' | 'line'>[] = [];
  for (const fold of drawn) {
    for (const p of [...fold.matched, ...fold.mismatched]) {
      lines.push({
        nameA: names[p.identityA],
        indexA: p.imageA + 1,
        nameB: names[p.identityB],
        indexB: p.imageB + 1,
        same: p.identityA === p.identityB,
      });
    }
  }
  return formatPairsFile(lines, folds, pairsPerFold);
}

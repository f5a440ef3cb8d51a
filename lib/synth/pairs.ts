// Verification pairs over the held-out identities in the standard LFW `pairs.txt` form: a header
// `folds pairsPerFold`, then per fold `pairsPerFold` matched lines `name i j` followed by
// `pairsPerFold` mismatched lines `name1 i name2 j` (1-based image numbers). As in LFW, each
// identity belongs to one fold only, so a threshold chosen on nine folds never saw the tenth's people.
import { Rng } from './random';

export interface MatchedPair {
  name: string;
  i: number;
  j: number;
}

export interface MismatchedPair {
  name1: string;
  i: number;
  name2: string;
  j: number;
}

export interface PairFold {
  matched: MatchedPair[];
  mismatched: MismatchedPair[];
}

/** Draws the folds; throws a RangeError when the identities cannot fill them without repeats. */
export function drawPairs(
  names: readonly string[],
  imagesPerIdentity: number,
  folds: number,
  pairsPerFold: number,
  rng: Rng,
): PairFold[] {
  const K = imagesPerIdentity;
  if (K < 2)
    throw new RangeError(`heldOutImages must be at least 2 to form matched pairs, got ${K}`);
  if (names.length < 2 * folds) {
    throw new RangeError(
      `heldOutIdentities must be at least 2 per fold (${2 * folds} for ${folds} folds), got ${names.length}`,
    );
  }
  const order = rng.shuffle([...names.keys()]);
  const result: PairFold[] = [];
  for (let f = 0; f < folds; f++) {
    const members = order.filter((_, k) => k % folds === f).map((k) => names[k]);
    const capacity = members.length * ((K * (K - 1)) / 2);
    if (capacity < pairsPerFold) {
      throw new RangeError(
        `fold ${f + 1} has ${members.length} identities x ${K} images = ${capacity} distinct matched ` +
          `pairs, fewer than pairsPerFold = ${pairsPerFold}; raise heldOutIdentities or heldOutImages`,
      );
    }
    // Matched: take identities in turn so every held-out person contributes about equally.
    const perIdentity = members.map((name) => {
      const list: MatchedPair[] = [];
      for (let i = 1; i <= K; i++) for (let j = i + 1; j <= K; j++) list.push({ name, i, j });
      return rng.shuffle(list);
    });
    const matched: MatchedPair[] = [];
    for (let round = 0; matched.length < pairsPerFold; round++) {
      for (const list of perIdentity) {
        if (round < list.length && matched.length < pairsPerFold) matched.push(list[round]);
      }
    }
    const crossCapacity = ((members.length * (members.length - 1)) / 2) * K * K;
    if (crossCapacity < pairsPerFold) {
      throw new RangeError(
        `fold ${f + 1} has only ${crossCapacity} distinct mismatched pairs, fewer than ` +
          `pairsPerFold = ${pairsPerFold}; raise heldOutIdentities or heldOutImages`,
      );
    }
    // Mismatched: uniform over image pairs of two different people of this fold, no repeats.
    const seen = new Set<string>();
    const mismatched: MismatchedPair[] = [];
    while (mismatched.length < pairsPerFold) {
      const a = rng.int(members.length);
      const b = rng.int(members.length - 1);
      const other = b >= a ? b + 1 : b;
      let [p, q] = [
        { name: members[a], n: 1 + rng.int(K) },
        { name: members[other], n: 1 + rng.int(K) },
      ];
      if (q.name < p.name) [p, q] = [q, p];
      const key = `${p.name} ${p.n} ${q.name} ${q.n}`;
      if (seen.has(key)) continue;
      seen.add(key);
      mismatched.push({ name1: p.name, i: p.n, name2: q.name, j: q.n });
    }
    matched.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : x.i - y.i || x.j - y.j));
    mismatched.sort((x, y) =>
      x.name1 !== y.name1
        ? x.name1 < y.name1
          ? -1
          : 1
        : x.name2 < y.name2
          ? -1
          : x.name2 > y.name2
            ? 1
            : x.i - y.i || x.j - y.j,
    );
    result.push({ matched, mismatched });
  }
  return result;
}

export function formatPairs(folds: readonly PairFold[], pairsPerFold: number): string {
  const lines = [`${folds.length}\t${pairsPerFold}`];
  for (const fold of folds) {
    for (const p of fold.matched) lines.push(`${p.name}\t${p.i}\t${p.j}`);
    for (const p of fold.mismatched) lines.push(`${p.name1}\t${p.i}\t${p.name2}\t${p.j}`);
  }
  return lines.join('\n') + '\n';
}

// Verification pairs drawn LFW's way: k folds over disjoint sets of identities, each fold the
// same number of same-identity ("matched") and different-identity ("mismatched") pairs, no pair
// twice. Disjoint identities keep a fold's threshold (and, under subtractMean, its mean feature)
// from being fitted on the people it is tested on. The synthetic generator writes these as
// pairs.txt; `makeVerificationPairs` makes them for any labelled image set.
import { expectInteger, fail } from '../util/expect';
import { expectOptions } from '../util/option-keys';
import { Random } from '../util/random';
import type { VerificationPair } from './types';

/** One drawn pair: identities by index, images by 0-based number within the identity. */
export interface DrawnPair {
  identityA: number;
  imageA: number;
  identityB: number;
  imageB: number;
}

export interface DrawnFold {
  /** Sorted by identity, then images. */
  matched: DrawnPair[];
  /** identityA < identityB; sorted by identityA, identityB, then images. */
  mismatched: DrawnPair[];
}

export interface DrawFoldsOptions {
  folds: number;
  /** Matched pairs per fold, and as many mismatched. */
  perKind: number;
  random: Random;
  /** How the caller's option reads in messages, e.g. 'pairsPerFold = 300'. */
  sizeOption: string;
  /** What the caller can change when there are fewer than two identities per fold. */
  identitiesAdvice: string;
  /** What the caller can change when a fold's identities cannot supply its pairs. */
  pairsAdvice: string;
}

function byImages(x: DrawnPair, y: DrawnPair): number {
  return (
    x.identityA - y.identityA ||
    x.identityB - y.identityB ||
    x.imageA - y.imageA ||
    x.imageB - y.imageB
  );
}

/**
 * Draws the folds over identities with `imageCounts[i]` images each. Identity order is shuffled,
 * then identity k goes to fold k mod folds. Matched pairs take the identities of a fold in turn,
 * so each contributes about equally; mismatched pairs are uniform over image pairs of two
 * different people of the fold. Throws a RangeError when the identities cannot fill the folds.
 */
export function drawPairFolds(
  imageCounts: readonly number[],
  options: DrawFoldsOptions,
): DrawnFold[] {
  const { folds, perKind, random, sizeOption, identitiesAdvice, pairsAdvice } = options;
  if (imageCounts.length < 2 * folds) {
    throw new RangeError(
      `${folds} folds need at least ${2 * folds} identities (2 per fold) but there are ` +
        `${imageCounts.length}; ${identitiesAdvice}`,
    );
  }
  const order = random.shuffle([...imageCounts.keys()]);
  const result: DrawnFold[] = [];
  for (let f = 0; f < folds; f++) {
    const members = order.filter((_, k) => k % folds === f);
    const counts = members.map((id) => imageCounts[id]);
    const pairCounts = counts.map((n) => (n * (n - 1)) / 2);
    const capacity = pairCounts.reduce((s, c) => s + c, 0);
    if (capacity < perKind) {
      throw new RangeError(
        `fold ${f + 1} has ${members.length} identities with ${capacity} distinct matched pairs, ` +
          `fewer than the ${perKind} needed (${sizeOption}); ${pairsAdvice}`,
      );
    }
    // Matched pairs go round the identities, one from each a round, so none gives more than
    // the rounds needed; larger identities are not listed past that.
    const rounds = roundsNeeded(pairCounts, perKind);
    const perIdentity = members.map((id, k) => drawMatchedPairs(id, counts[k], rounds, random));
    const matched: DrawnPair[] = [];
    for (let round = 0; matched.length < perKind; round++) {
      for (const list of perIdentity) {
        if (round < list.length && matched.length < perKind) matched.push(list[round]);
      }
    }
    // Image pairs across two people of the fold: (total^2 - sum of squares) / 2.
    const total = counts.reduce((s, n) => s + n, 0);
    const crossCapacity = (total * total - counts.reduce((s, n) => s + n * n, 0)) / 2;
    if (crossCapacity < perKind) {
      throw new RangeError(
        `fold ${f + 1} has only ${crossCapacity} distinct mismatched pairs, fewer than the ` +
          `${perKind} needed (${sizeOption}); ${pairsAdvice}`,
      );
    }
    const seen = new Set<string>();
    const mismatched: DrawnPair[] = [];
    while (mismatched.length < perKind) {
      const a = random.int(members.length);
      const b = random.int(members.length - 1);
      const other = b >= a ? b + 1 : b;
      let p = { id: members[a], image: random.int(imageCounts[members[a]]) };
      let q = { id: members[other], image: random.int(imageCounts[members[other]]) };
      if (q.id < p.id) [p, q] = [q, p];
      const key = `${p.id} ${p.image} ${q.id} ${q.image}`;
      if (seen.has(key)) continue;
      seen.add(key);
      mismatched.push({ identityA: p.id, imageA: p.image, identityB: q.id, imageB: q.image });
    }
    result.push({ matched: matched.sort(byImages), mismatched: mismatched.sort(byImages) });
  }
  return result;
}

/** The fewest rounds r with sum(min(capacity, r)) >= perKind (the capacities allow it). */
function roundsNeeded(capacities: readonly number[], perKind: number): number {
  let [low, high] = [1, perKind];
  while (low < high) {
    const r = Math.floor((low + high) / 2);
    if (capacities.reduce((s, c) => s + Math.min(c, r), 0) >= perKind) high = r;
    else low = r + 1;
  }
  return low;
}

// Identities with up to this many image pairs list and shuffle them all (as every set of that
// size always has, so its pairs stay as drawn before); larger ones (an identity of 10,000 images
// has 50 M pairs) draw theirs one by one.
const LISTED_PAIRS = 1 << 16;

/**
 * Up to `count` distinct pairs of the n images of `identity`, in random order: as the start of
 * a shuffled list of all of them, without the list when it would be large.
 */
function drawMatchedPairs(identity: number, n: number, count: number, random: Random): DrawnPair[] {
  const all = (n * (n - 1)) / 2;
  const pair = (i: number, j: number): DrawnPair => ({
    identityA: identity,
    imageA: i,
    identityB: identity,
    imageB: j,
  });
  if (all <= LISTED_PAIRS || 2 * count > all) {
    const list: DrawnPair[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) list.push(pair(i, j));
    }
    return random.shuffle(list).slice(0, count);
  }
  // Rejection keeps each draw uniform over the pairs not yet drawn; at most half are drawn, so
  // a draw takes under two tries on average.
  const seen = new Set<number>();
  const drawn: DrawnPair[] = [];
  while (drawn.length < count) {
    const a = random.int(n);
    const b = random.int(n - 1);
    const [i, j] = b >= a ? [a, b + 1] : [b, a];
    if (seen.has(i * n + j)) continue;
    seen.add(i * n + j);
    drawn.push(pair(i, j));
  }
  return drawn;
}

export interface MakePairsOptions {
  folds?: number; // default 10
  /**
   * Pairs per fold, matched and mismatched together, so even: half same, half different
   * (default 600, as LFW). generateSyntheticFaces's pairsPerFold counts each kind.
   */
  pairsPerFold?: number;
  seed?: number; // default 1
}

/**
 * Pairs for a labelled image set (e.g. held-out identities), indexing into it: per fold, half
 * same-identity pairs, then half different-identity pairs, as in pairs.txt.
 */
export function makeVerificationPairs(
  labels: Int32Array | readonly number[],
  options: MakePairsOptions = {},
): VerificationPair[] {
  if (!Array.isArray(labels) && !(labels instanceof Int32Array)) {
    fail('an Int32Array or an array of integer labels', 'labels', labels);
  }
  expectOptions<MakePairsOptions>(options, 'options', {
    folds: true,
    pairsPerFold: true,
    seed: true,
  });
  const folds = options.folds === undefined ? 10 : expectInteger(options.folds, 'folds', 2);
  const perFold = options.pairsPerFold ?? 600;
  if (expectInteger(perFold, 'pairsPerFold', 2) % 2 !== 0) {
    fail(
      'an even integer >= 2 (half matched, half mismatched)',
      'pairsPerFold',
      perFold,
      RangeError,
    );
  }
  const seed = options.seed === undefined ? 1 : expectInteger(options.seed, 'seed', 0);
  const byId = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i])) fail('an integer', `labels[${i}]`, labels[i]);
    const list = byId.get(labels[i]) ?? [];
    list.push(i);
    byId.set(labels[i], list);
  }
  const images = [...byId.keys()].sort((a, b) => a - b).map((id) => byId.get(id)!);
  const drawn = drawPairFolds(
    images.map((list) => list.length),
    {
      folds,
      perKind: perFold / 2,
      random: new Random(seed),
      sizeOption: `pairsPerFold = ${perFold}`,
      identitiesAdvice: 'use fewer folds or a set with more identities',
      pairsAdvice: 'use fewer pairsPerFold, fewer folds, or more images per identity',
    },
  );
  const pairs: VerificationPair[] = [];
  drawn.forEach((fold, k) => {
    for (const [list, same] of [
      [fold.matched, true],
      [fold.mismatched, false],
    ] as const) {
      for (const p of list) {
        pairs.push({
          a: images[p.identityA][p.imageA],
          b: images[p.identityB][p.imageB],
          same,
          fold: k,
          line: pairs.length + 1,
        });
      }
    }
  });
  return pairs;
}

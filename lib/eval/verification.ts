// K-fold verification accuracy (the LFW "View 2" protocol) as the original SphereFace
// evaluation (wy1iu/sphereface, test/code/evaluation.m) computes it:
//
// - Fold k is tested with a threshold chosen on the other folds only.
// - A pair is called "same" when score > t and "different" when score < t; a score exactly equal
//   to t counts as wrong for both kinds (the original's strict comparisons, kept so numbers match).
// - The threshold is the mean of every candidate reaching the best training-fold accuracy.
//   Candidates are either the original's grid k / steps for k = -steps..steps (steps = 10000, so
//   -1..1 in 1e-4 steps, fine enough for cosine scores), or the midpoints between consecutive
//   distinct training scores plus one point beyond each end ('midpoints', for scores outside
//   [-1, 1]; two scores one double apart have no double between them, and share a side).
// - The reported std is the population standard deviation of the per-fold accuracies (numpy's
//   np.std, as clcarwin's sphereface_pytorch and insightface compute it; evaluation.m reports
//   only the mean).
import type { VerificationPair } from '../data/types';
import { describeReceived } from '../util/describe-received';
import { expectOptions } from '../util/option-keys';

export type ThresholdCandidates = 'grid' | 'midpoints';

export interface ThresholdOptions {
  /** 'grid' (default, the original) or 'midpoints' of sorted distinct training scores. */
  candidates?: ThresholdCandidates;
  /** Grid resolution: candidates k / steps for k in -steps..steps. Default 10000. */
  steps?: number;
}

export interface FoldResult {
  fold: number;
  /** Accuracy of the chosen threshold on this (held-out) fold. */
  accuracy: number;
  threshold: number;
  /** The best accuracy the threshold reached on the other folds. */
  trainAccuracy: number;
  pairs: number;
}

export interface VerificationResult {
  folds: FoldResult[];
  meanAccuracy: number;
  /** Population std (ddof 0) of the per-fold accuracies. */
  stdAccuracy: number;
  meanThreshold: number;
  threshold: Required<ThresholdOptions>;
}

/** Number of pairs predicted correctly at threshold t (strict comparisons on both sides). */
export function countCorrect(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  t: number,
): number {
  let correct = 0;
  for (let i = 0; i < scores.length; i++) {
    if (same[i] ? scores[i] > t : scores[i] < t) correct++;
  }
  return correct;
}

// The grid's finest resolution: 2 * steps + 1 candidates, each counted over every pair.
const MAX_STEPS = 10_000_000;

export function resolveThresholdOptions(options: ThresholdOptions): Required<ThresholdOptions> {
  expectOptions<ThresholdOptions>(options, 'threshold', { candidates: true, steps: true });
  const candidates = options.candidates ?? 'grid';
  if (candidates !== 'grid' && candidates !== 'midpoints') {
    throw new Error(
      `Expected 'grid' or 'midpoints' for threshold.candidates but received ${String(candidates)}`,
    );
  }
  const steps = options.steps ?? 10000;
  if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
    throw new RangeError(
      `Expected an integer in 1..${MAX_STEPS} for threshold.steps but received ${describeReceived(steps)}`,
    );
  }
  return { candidates, steps };
}

// Number of elements of sorted `a` that are < t (lower bound) or <= t (upper bound).
function countBelow(a: Float64Array, t: number, inclusive: boolean): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (inclusive ? a[mid] <= t : a[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The threshold the original protocol picks on a training set: the mean of all candidates that
 * reach the best accuracy. Sorting once and counting with binary searches makes the 20001-point
 * grid cost O(G log N) instead of the original's O(G N).
 */
export function bestThreshold(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  options: ThresholdOptions = {},
): { threshold: number; accuracy: number } {
  const { candidates, steps } = resolveThresholdOptions(options);
  if (scores.length === 0)
    throw new Error('Expected at least one training pair to pick a threshold');
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < scores.length; i++) (same[i] ? pos : neg).push(scores[i]);
  const sortedPos = Float64Array.from(pos).sort();
  const sortedNeg = Float64Array.from(neg).sort();

  let grid: Float64Array;
  if (candidates === 'grid') {
    grid = new Float64Array(2 * steps + 1);
    // k / steps (not k * (1 / steps)) so the candidates equal MATLAB's (-n:n)/n bit for bit.
    for (let k = -steps; k <= steps; k++) grid[k + steps] = k / steps;
  } else {
    const all = Float64Array.from(scores).sort();
    const distinct: number[] = [];
    for (const s of all)
      if (distinct.length === 0 || s !== distinct[distinct.length - 1]) distinct.push(s);
    grid = new Float64Array(distinct.length + 1);
    grid[0] = distinct[0] - 1;
    // Halves first: (a + b) / 2 overflows to Infinity for scores near the largest double.
    for (let i = 1; i < distinct.length; i++) grid[i] = distinct[i - 1] / 2 + distinct[i] / 2;
    grid[distinct.length] = distinct[distinct.length - 1] + 1;
  }

  let best = -1;
  let sum = 0;
  let count = 0;
  for (const t of grid) {
    const correct =
      sortedPos.length - countBelow(sortedPos, t, true) + countBelow(sortedNeg, t, false);
    if (correct > best) {
      best = correct;
      sum = t;
      count = 1;
    } else if (correct === best) {
      sum += t;
      count++;
    }
  }
  return { threshold: sum / count, accuracy: best / scores.length };
}

/** Each pair's fold (an integer >= 0) and `same` (a boolean), the first bad one named. */
export function checkPairFields(pairs: readonly VerificationPair[]): void {
  pairs.forEach((p, i) => {
    if (!Number.isInteger(p.fold) || p.fold < 0) {
      throw new Error(`Expected non-negative integer for pairs[${i}].fold but received ${p.fold}`);
    }
    if (typeof p.same !== 'boolean') {
      throw new Error(`Expected boolean for pairs[${i}].same but received ${String(p.same)}`);
    }
  });
}

function checkPairs(pairs: readonly VerificationPair[]): number[] {
  if (!Array.isArray(pairs) || pairs.length === 0) {
    throw new Error('Expected a non-empty array for pairs');
  }
  checkPairFields(pairs);
  const ids = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
  if (ids.length < 2) throw new Error(`Expected pairs in at least 2 folds but found ${ids.length}`);
  return ids;
}

function checkScores(scores: ArrayLike<number>, n: number, what: string): void {
  if (scores.length !== n) {
    throw new Error(`Expected ${n} ${what} (one per pair) but received ${scores.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new Error(`Expected finite number for ${what}[${i}] but received ${scores[i]}`);
    }
  }
}

/**
 * K-fold verification where the scores may depend on the fold being tested (the original's
 * mean subtraction uses the training folds' features). `scoresForFold(k)` returns a score for
 * every pair, in pairs order; only the scores of fold k's training pairs pick the threshold and
 * only those of fold k's pairs are tested.
 */
export function kFoldVerification(
  scoresForFold: (fold: number) => ArrayLike<number>,
  pairs: readonly VerificationPair[],
  options: { threshold?: ThresholdOptions } = {},
): VerificationResult {
  const threshold = resolveThresholdOptions(options.threshold ?? {});
  const foldIds = checkPairs(pairs);
  const same = pairs.map((p) => p.same);
  const folds: FoldResult[] = [];
  for (const k of foldIds) {
    const scores = scoresForFold(k);
    checkScores(scores, pairs.length, `scores for fold ${k}`);
    const trainScores: number[] = [];
    const trainSame: boolean[] = [];
    const testScores: number[] = [];
    const testSame: boolean[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const train = pairs[i].fold !== k;
      (train ? trainScores : testScores).push(scores[i]);
      (train ? trainSame : testSame).push(same[i]);
    }
    const best = bestThreshold(trainScores, trainSame, threshold);
    folds.push({
      fold: k,
      accuracy: countCorrect(testScores, testSame, best.threshold) / testScores.length,
      threshold: best.threshold,
      trainAccuracy: best.accuracy,
      pairs: testScores.length,
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanAccuracy = mean(folds.map((f) => f.accuracy));
  return {
    folds,
    meanAccuracy,
    stdAccuracy: Math.sqrt(mean(folds.map((f) => (f.accuracy - meanAccuracy) ** 2))),
    meanThreshold: mean(folds.map((f) => f.threshold)),
    threshold,
  };
}

/**
 * Ten-fold (any k >= 2 folds, taken from `pairs[i].fold`) verification accuracy of fixed
 * per-pair scores, e.g. cosine similarities. Higher scores mean "more likely the same person".
 */
export function tenFoldVerification(
  scores: Float64Array | Float32Array | readonly number[],
  pairs: readonly VerificationPair[],
  options: { threshold?: ThresholdOptions } = {},
): VerificationResult {
  return kFoldVerification(() => scores, pairs, options);
}

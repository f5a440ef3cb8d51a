// ROC curve, AUC, EER and TAR at fixed FAR for verification scores (higher = more alike).
//
// Rules, so a reported figure can be reproduced:
// - Points: one per distinct score, from the highest down. At threshold t a pair is accepted when
//   score >= t; FAR = accepted different pairs / different pairs, TAR = accepted same pairs /
//   same pairs. The curve starts at (0, 0) (nothing accepted) and ends at (1, 1).
// - AUC: trapezoids between consecutive points, which equals the probability that a random same
//   pair scores above a random different pair, with ties counted one half.
// - EER: where FRR = 1 - TAR meets FAR, found by linear interpolation along the segment on which
//   FAR - FRR changes sign (on that segment both rates move linearly, so they are equal there).
// - TAR at FAR x: the highest TAR among points with FAR <= x, i.e. what a real threshold achieves
//   (no interpolation, which would claim a rate between two achievable operating points). With
//   fewer than 1/x different pairs only FAR 0 qualifies; `differentPairs` is reported so a reader
//   can tell.

export interface RocPoint {
  /** Accept when score >= threshold; +Infinity for the (0, 0) start. */
  threshold: number;
  far: number;
  tar: number;
}

export interface TarAtFar {
  far: number;
  tar: number;
  /** The threshold of the operating point (accept when score >= threshold). */
  threshold: number;
}

export interface RocSummary {
  auc: number;
  eer: number;
  /** Threshold at the EER crossing, interpolated like the rates. */
  eerThreshold: number;
  tarAtFar: TarAtFar[];
  samePairs: number;
  differentPairs: number;
}

export function rocCurve(scores: ArrayLike<number>, same: ArrayLike<boolean>): RocPoint[] {
  if (scores.length !== same.length) {
    throw new Error(
      `Expected one label per score but received ${same.length} for ${scores.length}`,
    );
  }
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw new Error(`Expected finite number for scores[${i}] but received ${scores[i]}`);
    }
    if (same[i]) positives++;
  }
  const negatives = scores.length - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(
      `Expected both same and different pairs for a ROC curve but received ${positives} same and ${negatives} different`,
    );
  }
  const order = Array.from({ length: scores.length }, (_, i) => i).sort(
    (a, b) => scores[b] - scores[a],
  );
  const points: RocPoint[] = [{ threshold: Infinity, far: 0, tar: 0 }];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j];
    if (same[i]) tp++;
    else fp++;
    // Emit a point only after the last of a run of equal scores: one threshold admits them all.
    if (j + 1 === order.length || scores[order[j + 1]] !== scores[i]) {
      points.push({ threshold: scores[i], far: fp / negatives, tar: tp / positives });
    }
  }
  return points;
}

export function areaUnderCurve(points: readonly RocPoint[]): number {
  let area = 0;
  for (let j = 1; j < points.length; j++) {
    area += ((points[j].far - points[j - 1].far) * (points[j].tar + points[j - 1].tar)) / 2;
  }
  return area;
}

export function equalErrorRate(points: readonly RocPoint[]): { eer: number; threshold: number } {
  // d = FAR - FRR rises from -1 at (0, 0) to +1 at (1, 1).
  const d = (p: RocPoint) => p.far - (1 - p.tar);
  for (let j = 1; j < points.length; j++) {
    const p = points[j - 1];
    const q = points[j];
    if (d(q) >= 0) {
      const s = d(q) === d(p) ? 0 : -d(p) / (d(q) - d(p));
      const far = p.far + s * (q.far - p.far);
      // The start point's threshold is +Infinity; interpolate from the next one instead.
      const threshold = Number.isFinite(p.threshold)
        ? p.threshold + s * (q.threshold - p.threshold)
        : q.threshold;
      return { eer: far, threshold };
    }
  }
  return { eer: 1, threshold: -Infinity }; // unreachable: the last point has d = +1
}

export function tarAtFar(points: readonly RocPoint[], far: number): TarAtFar {
  if (!(far >= 0 && far <= 1)) {
    throw new RangeError(`Expected a number in [0, 1] for far but received ${far}`);
  }
  let best = points[0];
  // Strictly greater: among points with the same TAR keep the first (highest threshold, lowest FAR).
  for (const p of points) if (p.far <= far && p.tar > best.tar) best = p;
  return { far, tar: best.tar, threshold: best.threshold };
}

/** ROC summary with TAR at FAR 1e-3 and 1e-2 unless other FARs are given. */
export function summarizeRoc(
  scores: ArrayLike<number>,
  same: ArrayLike<boolean>,
  fars: readonly number[] = [1e-3, 1e-2],
): { points: RocPoint[]; summary: RocSummary } {
  const points = rocCurve(scores, same);
  let samePairs = 0;
  for (let i = 0; i < same.length; i++) if (same[i]) samePairs++;
  const { eer, threshold } = equalErrorRate(points);
  return {
    points,
    summary: {
      auc: areaUnderCurve(points),
      eer,
      eerThreshold: threshold,
      tarAtFar: fars.map((f) => tarAtFar(points, f)),
      samePairs,
      differentPairs: same.length - samePairs,
    },
  };
}

// How tightly each identity's features gather around their direction, against how far apart
// the identities' directions lie: the angular margin the SphereFace paper's figures show.
//
// Features are taken as unit vectors; a class's centre is the direction of the sum of its unit
// features. Within: the angle of each feature to its own class's centre, averaged over all
// features, and its largest value. Between: the smallest angle between two class centres.

export interface AngularSpread {
  /** Mean angle (degrees) of a feature to its class centre. */
  meanWithin: number;
  /** Largest angle (degrees) of a feature to its class centre. */
  maxWithin: number;
  /** Smallest angle (degrees) between two class centres. */
  minBetween: number;
  classes: number;
}

function unitRow(values: ArrayLike<number>, offset: number, dim: number): Float64Array {
  const row = new Float64Array(dim);
  let norm = 0;
  for (let k = 0; k < dim; k++) norm += values[offset + k] ** 2;
  norm = Math.sqrt(norm);
  if (norm === 0) throw new Error(`Expected non-zero feature vectors but row ${offset / dim} is 0`);
  for (let k = 0; k < dim; k++) row[k] = values[offset + k] / norm;
  return row;
}

function angleDegrees(a: Float64Array, b: Float64Array): number {
  let c = 0;
  for (let k = 0; k < a.length; k++) c += a[k] * b[k];
  return (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI;
}

export function angularSpread(
  features: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): AngularSpread {
  const n = labels.length;
  if (!Number.isInteger(dim) || dim < 1 || features.length !== n * dim) {
    throw new RangeError(
      `Expected labels.length x dim = ${n} x ${dim} features but received ${features.length} values`,
    );
  }
  const rows = Array.from({ length: n }, (_, i) => unitRow(features, i * dim, dim));
  const sums = new Map<number, Float64Array>();
  rows.forEach((row, i) => {
    const sum = sums.get(labels[i]) ?? new Float64Array(dim);
    for (let k = 0; k < dim; k++) sum[k] += row[k];
    sums.set(labels[i], sum);
  });
  if (sums.size < 2) throw new Error(`Expected at least 2 classes but received ${sums.size}`);
  const centres = new Map([...sums].map(([label, sum]) => [label, unitRow(sum, 0, dim)]));
  let total = 0;
  let maxWithin = 0;
  rows.forEach((row, i) => {
    const angle = angleDegrees(row, centres.get(labels[i])!);
    total += angle;
    maxWithin = Math.max(maxWithin, angle);
  });
  const list = [...centres.values()];
  let minBetween = Infinity;
  for (let a = 0; a < list.length; a++) {
    for (let b = a + 1; b < list.length; b++) {
      minBetween = Math.min(minBetween, angleDegrees(list[a], list[b]));
    }
  }
  return { meanWithin: total / n, maxWithin, minBetween, classes: list.length };
}

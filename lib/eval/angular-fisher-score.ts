// Angular Fisher Score (SphereFace, appendix): AFS = S_w / S_b, lower = more discriminative.
//
//   S_w = sum_i sum_{x_j in X_i} w_i (1 - cos(x_j, m_i))     S_b = sum_i n_i (1 - cos(m_i, m))
//
// m_i is the mean of class i's features, m the mean of all features, n_i the size of class i.
// The paper has the within-class weight w_i = 1 (the default, `definition: 'paper'`); the seed
// document writes w_i = n_i (`definition: 'seed'`). With balanced classes the two differ by the
// constant factor n, so rankings agree. Features are L2-normalised before the means are taken
// (`normalize: true`, the default): the score is about angles, and a class mean of unnormalised
// features leans toward its longest vectors; `normalize: false` uses them as given.

import { describeReceived } from '../util/describe-received';
import { expectOptions } from '../util/option-keys';

export type AfsDefinition = 'seed' | 'paper';

export interface AngularFisherScore {
  afs: number;
  withinScatter: number;
  betweenScatter: number;
  classes: number;
  definition: AfsDefinition;
  /** Whether class means were taken over unit-length features. */
  normalized: boolean;
}

export interface AfsOptions {
  definition?: AfsDefinition; // 'paper'
  normalize?: boolean; // true
}

/** One line for reports: the score and how it was computed. */
export function describeAfs(score: AngularFisherScore): string {
  const weight = score.definition === 'paper' ? "the paper's S_w" : "the seed's n_i-weighted S_w";
  const features = score.normalized ? 'unit-length features' : 'features as given';
  return `${score.afs.toFixed(4)} (S_w / S_b over ${score.classes} identities, ${weight}, class means of ${features}; lower is better)`;
}

function cosine(x: ArrayLike<number>, xo: number, y: Float64Array, yo: number, dim: number) {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let k = 0; k < dim; k++) {
    xy += x[xo + k] * y[yo + k];
    xx += x[xo + k] * x[xo + k];
    yy += y[yo + k] * y[yo + k];
  }
  if (xx === 0 || yy === 0) {
    throw new Error('Expected non-zero feature vectors and class means for the cosine in AFS');
  }
  return xy / Math.sqrt(xx * yy);
}

/**
 * The options checked, defaults filled in; `name` is what errors call them ('afs' for the
 * evaluator's, whose fields are then named afs.definition and afs.normalize).
 */
export function resolveAfsOptions(options: AfsOptions, name = 'options'): Required<AfsOptions> {
  expectOptions<AfsOptions>(options, name, { definition: true, normalize: true });
  const field = (key: string) => (name === 'options' ? key : `${name}.${key}`);
  const definition = options.definition ?? 'paper';
  if (definition !== 'seed' && definition !== 'paper') {
    throw new Error(
      `Expected 'seed' or 'paper' for ${field('definition')} but received ${String(definition)}`,
    );
  }
  const normalize = options.normalize ?? true;
  if (typeof normalize !== 'boolean') {
    throw new TypeError(
      `Expected a boolean for ${field('normalize')} but received ${describeReceived(normalize)}`,
    );
  }
  return { definition, normalize };
}

export function angularFisherScore(
  features: Float32Array | Float64Array,
  labels: Int32Array | readonly number[],
  dim: number,
  options: AfsOptions = {},
): AngularFisherScore {
  const { definition, normalize: normalized } = resolveAfsOptions(options);
  if (!Number.isInteger(dim) || dim < 1) {
    throw new RangeError(`Expected positive integer for dim but received ${dim}`);
  }
  const n = labels.length;
  if (features.length !== n * dim) {
    throw new Error(
      `Expected features of length labels.length * dim = ${n * dim} but received ${features.length}`,
    );
  }
  const bad = features.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new RangeError(
      `Expected finite features but features[${bad}] (row ${Math.floor(bad / dim)}) is ${features[bad]}`,
    );
  }
  const index = new Map<number, number>();
  for (let j = 0; j < n; j++) {
    if (!Number.isInteger(labels[j])) {
      throw new Error(`Expected integer for labels[${j}] but received ${labels[j]}`);
    }
    if (!index.has(labels[j])) index.set(labels[j], index.size);
  }
  const c = index.size;
  if (c < 2) throw new Error(`Expected at least 2 classes for AFS but received ${c}`);
  // Normalised rows enter the means scaled; the cosines below do not depend on a row's length.
  const scale = normalized ? inverseRowLengths(features, dim) : undefined;
  const counts = new Float64Array(c);
  const means = new Float64Array(c * dim);
  const overall = new Float64Array(dim);
  for (let j = 0; j < n; j++) {
    const i = index.get(labels[j]) as number;
    counts[i]++;
    const s = scale ? scale[j] : 1;
    for (let k = 0; k < dim; k++) {
      means[i * dim + k] += s * features[j * dim + k];
      overall[k] += s * features[j * dim + k];
    }
  }
  for (let i = 0; i < c; i++) for (let k = 0; k < dim; k++) means[i * dim + k] /= counts[i];
  for (let k = 0; k < dim; k++) overall[k] /= n;

  let within = 0;
  for (let j = 0; j < n; j++) {
    const i = index.get(labels[j]) as number;
    const weight = definition === 'seed' ? counts[i] : 1;
    within += weight * (1 - cosine(features, j * dim, means, i * dim, dim));
  }
  let between = 0;
  for (let i = 0; i < c; i++) between += counts[i] * (1 - cosine(means, i * dim, overall, 0, dim));
  if (between === 0) throw new Error('AFS is undefined: every class mean points the same way');
  return {
    afs: within / between,
    withinScatter: within,
    betweenScatter: between,
    classes: c,
    definition,
    normalized,
  };
}

// 1 / length of each row, rather than unit-length copies: raw-pixel features take gigabytes.
function inverseRowLengths(features: Float32Array | Float64Array, dim: number): Float64Array {
  const inverse = new Float64Array(features.length / dim);
  for (let j = 0; j < inverse.length; j++) {
    let sq = 0;
    for (let k = 0; k < dim; k++) sq += features[j * dim + k] ** 2;
    if (sq === 0) throw new Error('Expected non-zero feature vectors for the cosine in AFS');
    inverse[j] = 1 / Math.sqrt(sq);
  }
  return inverse;
}

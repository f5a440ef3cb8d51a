// An independent float64 reference for the fused margin-softmax loss, written straight from the
// definitions (acos and cos(m t), not the op's Chebyshev form; per-element chain rule, not the
// op's GEMM-and-projection backward).
import type { MarginHead } from '../../lib/ops/margin-head';

export interface Reference {
  loss: number;
  accuracy: number;
  gradFeatures: Float64Array;
  gradWeight: Float64Array;
  gradBias?: Float64Array;
}

type AngularHead = Exclude<MarginHead, { kind: 'softmax' }>;

const EPS = 1e-12;

/** psi(t) = (-1)^k cos(m t) - 2k for t in [k pi / m, (k + 1) pi / m]. */
export function psi(m: number, t: number): number {
  const k = Math.min(m - 1, Math.floor((t * m) / Math.PI));
  return (k % 2 === 0 ? 1 : -1) * Math.cos(m * t) - 2 * k;
}

/** The target's unit logit u(t) and du/dcos(t), as the papers define each head. */
export function targetUnit(
  head: AngularHead,
  t: number,
  c = Math.cos(t), // the cosine itself where known: cos(acos(0)) is 6e-17, not 0
): { unit: number; dUnit: number } {
  const sinT = Math.sin(t);
  switch (head.kind) {
    case 'sphere': {
      const lambda = head.lambda ?? 0;
      const k = Math.min(head.m - 1, Math.floor((t * head.m) / Math.PI));
      // d psi / dc = d psi / dt / (dc / dt) = (-1)^k m sin(m t) / sin(t)
      const dPsi = (k % 2 === 0 ? 1 : -1) * head.m * (Math.sin(head.m * t) / sinT);
      return {
        unit: (lambda * c + psi(head.m, t)) / (1 + lambda),
        dUnit: (lambda + dPsi) / (1 + lambda),
      };
    }
    case 'cos':
      return { unit: c - head.m, dUnit: 1 };
    case 'arc':
      // insightface: where(cos > 0, cos(t + m), cos) with the easy margin, else
      // where(cos > cos(pi - m), cos(t + m), cos - sin(pi - m) m).
      if (head.easyMargin ? c > 0 : t + head.m <= Math.PI) {
        return { unit: Math.cos(t + head.m), dUnit: Math.sin(t + head.m) / sinT };
      }
      return { unit: head.easyMargin ? c : c - head.m * Math.sin(head.m), dUnit: 1 };
  }
}

/** Plain softmax cross-entropy over the logits <x_i, W_j> + b_j, and its gradients. */
export function referenceSoftmaxLoss(
  features: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
): Reference {
  const batch = labels.length;
  const classes = weight.length / dim;
  const gradFeatures = new Float64Array(batch * dim);
  const gradWeight = new Float64Array(classes * dim);
  const gradBias = new Float64Array(classes);
  const z = new Float64Array(classes);
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < batch; i++) {
    let best = 0;
    for (let j = 0; j < classes; j++) {
      z[j] = bias[j];
      for (let k = 0; k < dim; k++) z[j] += features[i * dim + k] * weight[j * dim + k];
      if (z[j] > z[best]) best = j;
    }
    if (best === labels[i]) correct++;
    const zMax = Math.max(...z);
    const lse = zMax + Math.log(z.reduce((s, v) => s + Math.exp(v - zMax), 0));
    loss += (lse - z[labels[i]]) / batch;
    for (let j = 0; j < classes; j++) {
      const dz = (Math.exp(z[j] - lse) - (j === labels[i] ? 1 : 0)) / batch;
      gradBias[j] += dz;
      for (let k = 0; k < dim; k++) {
        gradFeatures[i * dim + k] += dz * weight[j * dim + k];
        gradWeight[j * dim + k] += dz * features[i * dim + k];
      }
    }
  }
  return { loss, accuracy: correct / batch, gradFeatures, gradWeight, gradBias };
}

export function referenceLoss(
  features: ArrayLike<number>,
  weight: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  head: AngularHead,
): Reference {
  const batch = labels.length;
  const classes = weight.length / dim;
  const wNorm = new Float64Array(classes);
  for (let j = 0; j < classes; j++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += weight[j * dim + k] ** 2;
    wNorm[j] = Math.sqrt(s);
  }
  const gradFeatures = new Float64Array(batch * dim);
  const gradWeight = new Float64Array(classes * dim);
  let loss = 0;
  let correct = 0;
  const cos = new Float64Array(classes);
  const z = new Float64Array(classes);
  for (let i = 0; i < batch; i++) {
    const y = labels[i];
    let n2 = 0;
    for (let k = 0; k < dim; k++) n2 += features[i * dim + k] ** 2;
    const n = Math.sqrt(n2);
    const a = Math.max(n, EPS);
    const f = head.kind === 'sphere' ? n : head.scale;
    let best = 0;
    for (let j = 0; j < classes; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += features[i * dim + k] * weight[j * dim + k];
      cos[j] = Math.min(1, Math.max(-1, dot / (a * Math.max(wNorm[j], EPS))));
      z[j] = f * cos[j];
      if (cos[j] > cos[best]) best = j;
    }
    if (best === y) correct++;
    const target = targetUnit(head, Math.acos(cos[y]), cos[y]);
    z[y] = f * target.unit;
    let zMax = -Infinity;
    for (let j = 0; j < classes; j++) zMax = Math.max(zMax, z[j]);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(z[j] - zMax);
    const lse = zMax + Math.log(sum);
    loss += (lse - z[y]) / batch;
    for (let j = 0; j < classes; j++) {
      const b = Math.max(wNorm[j], EPS);
      const dz = (Math.exp(z[j] - lse) - (j === y ? 1 : 0)) / batch;
      const dCos = dz * f * (j === y ? target.dUnit : 1);
      for (let k = 0; k < dim; k++) {
        const x = features[i * dim + k];
        const w = weight[j * dim + k];
        // d cos / dx = W / (a b) - cos x / n^2 (the second term only where a = n)
        gradFeatures[i * dim + k] += dCos * (w / (a * b) - (n > EPS ? (cos[j] * x) / n2 : 0));
        gradWeight[j * dim + k] +=
          dCos * (x / (a * b) - (wNorm[j] > EPS ? (cos[j] * w) / wNorm[j] ** 2 : 0));
        if (head.kind === 'sphere' && n > 0) {
          const unit = j === y ? target.unit : cos[j];
          gradFeatures[i * dim + k] += (dz * unit * x) / n;
        }
      }
    }
  }
  return { loss, accuracy: correct / batch, gradFeatures, gradWeight };
}

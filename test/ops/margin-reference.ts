// An independent float64 reference for the fused margin-softmax loss, written straight from the
// definitions (acos and cos(m t), not the op's Chebyshev form; per-element chain rule, not the
// op's GEMM-and-projection backward).
import type { MarginHead } from '../../lib/ops/margin-head';

export interface Reference {
  loss: number;
  accuracy: number;
  gradFeatures: Float64Array;
  gradWeight: Float64Array;
}

const EPS = 1e-12;

/** psi(t) = (-1)^k cos(m t) - 2k for t in [k pi / m, (k + 1) pi / m]. */
export function psi(m: number, t: number): number {
  const k = Math.min(m - 1, Math.floor((t * m) / Math.PI));
  return (k % 2 === 0 ? 1 : -1) * Math.cos(m * t) - 2 * k;
}

/** The target's unit logit u(t) and du/dcos(t), as the issue defines each head. */
export function targetUnit(head: MarginHead, t: number): { unit: number; dUnit: number } {
  const c = Math.cos(t);
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
      if (t + head.m <= Math.PI) {
        return { unit: Math.cos(t + head.m), dUnit: Math.sin(t + head.m) / sinT };
      }
      return { unit: c - head.m * Math.sin(head.m), dUnit: 1 };
  }
}

export function referenceLoss(
  features: ArrayLike<number>,
  weight: ArrayLike<number>,
  labels: ArrayLike<number>,
  dim: number,
  head: MarginHead,
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
    const target = targetUnit(head, Math.acos(cos[y]));
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

import { expect } from 'chai';
import { nativeTesting } from '../../lib/native';
import { random } from './synthetic-identities';

// torch.optim.SGD's update (dampening 0) written out in float64, step by step.
function reference(
  param: Float64Array,
  grads: Float64Array[],
  options: { lr: number; momentum: number; weightDecay: number; nesterov: boolean },
): Float64Array {
  const p = Float64Array.from(param);
  const buf = new Float64Array(p.length);
  for (const g of grads) {
    for (let i = 0; i < p.length; i++) {
      const d = g[i] + options.weightDecay * p[i];
      buf[i] = options.momentum * buf[i] + d;
      p[i] -= options.lr * (options.nesterov ? d + options.momentum * buf[i] : buf[i]);
    }
  }
  return p;
}

describe('fused SGD update', () => {
  for (const nesterov of [false, true]) {
    for (const weightDecay of [0, 5e-4]) {
      it(`matches torch.optim.SGD over 3 steps (nesterov ${nesterov}, weight decay ${weightDecay})`, () => {
        const rand = random(nesterov ? 5 : 6);
        // Long enough to be split across threads (the kernel's grain is 32k elements).
        const n = 70_001;
        const param = Float32Array.from({ length: n }, () => rand() * 2 - 1);
        const grads = [0, 1, 2].map(() => Float32Array.from({ length: n }, () => rand() * 2 - 1));
        const options = { lr: 0.1, momentum: 0.9, weightDecay, nesterov };
        const expected = reference(
          Float64Array.from(param),
          grads.map((g) => Float64Array.from(g)),
          options,
        );
        const buffer = new Float32Array(n);
        for (const grad of grads) nativeTesting().fusedSgdStep(param, grad, buffer, options);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(param[i] - expected[i]));
        expect(worst).to.be.below(1e-5);
      });
    }
  }
});

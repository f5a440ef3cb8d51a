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

describe('fused SGD update: refusing unusable values', () => {
  // The kernel's bound: the largest float below 2^64 (sqrt(FLT_MAX) rounded down). The values
  // below stay far from it on both sides, so float rounding cannot move a verdict.
  const n = 70_001;
  const options = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: false };

  function arrays(seed: number): { param: Float32Array; grad: Float32Array; buffer: Float32Array } {
    const rand = random(seed);
    const make = (): Float32Array => Float32Array.from({ length: n }, () => rand() * 2 - 1);
    return { param: make(), grad: make(), buffer: make() };
  }

  it('applies an update whose values are each usable though together they sum far past the bound', () => {
    // Every weight 1e18: a sum over either thread's range is past 1e22, so the kernel's quick
    // sum cannot vouch for it and the per-element pass must decide.
    const { grad, buffer } = arrays(11);
    const param = new Float32Array(n).fill(1e18);
    const expected = reference(Float64Array.from(param), [Float64Array.from(grad)], options);
    buffer.fill(0); // the reference starts from a zero buffer
    expect(nativeTesting().fusedSgdStep(param, grad, buffer, options)).to.equal(true);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(param[i] / expected[i] - 1));
    expect(worst).to.be.below(1e-6);
  });

  const hazards: [string, (a: ReturnType<typeof arrays>, at: number) => void][] = [
    [
      'a weight past the bound',
      (a, at) => {
        a.param[at] = 1e19;
        a.grad[at] = -2e20; // p - lr * (momentum * buf + g + ...) is about 3e19
        a.buffer[at] = 0;
      },
    ],
    [
      'a momentum value past the bound',
      (a, at) => {
        a.buffer[at] = 3e19; // 0.9 * 3e19 = 2.7e19
      },
    ],
    ['a NaN gradient', (a, at) => void (a.grad[at] = NaN)],
    ['an infinite gradient', (a, at) => void (a.grad[at] = -Infinity)],
  ];
  for (const [name, plant] of hazards) {
    for (const at of [0, n - 1]) {
      it(`refuses ${name} at element ${at}, touching nothing`, () => {
        const a = arrays(at + 3);
        plant(a, at);
        const before = { param: Float32Array.from(a.param), buffer: Float32Array.from(a.buffer) };
        expect(nativeTesting().fusedSgdStep(a.param, a.grad, a.buffer, options)).to.equal(false);
        expect(a.param).to.deep.equal(before.param);
        expect(a.buffer).to.deep.equal(before.buffer);
      });
    }
  }

  it('applies the update to those arrays without a planted value, as torch.optim.SGD would', () => {
    const a = arrays(3);
    a.buffer.fill(0); // the reference starts from a zero buffer
    const expected = reference(Float64Array.from(a.param), [Float64Array.from(a.grad)], options);
    expect(nativeTesting().fusedSgdStep(a.param, a.grad, a.buffer, options)).to.equal(true);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a.param[i] - expected[i]));
    expect(worst).to.be.below(1e-6);
  });
});

import { expect } from 'chai';
import { marginSoftmaxLoss } from '../../lib';
import type { MarginHead } from '../../lib/ops/margin-head';
import { psi, referenceLoss, referenceSoftmaxLoss } from './margin-reference';
import { Random } from './random';

function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  expect(actual.length, `${what} length`).to.equal(expected.length);
  const scale = Math.max(1e-30, ...Array.from(expected, Math.abs));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]);
    if (error > worst) [worst, at] = [error, i];
  }
  expect(
    worst / scale,
    `${what}[${at}]: ${actual[at]} vs ${expected[at]} (max |value| ${scale})`,
  ).to.be.below(tolerance);
}

const HEADS: Exclude<MarginHead, { kind: 'softmax' }>[] = [
  { kind: 'sphere', m: 4 },
  { kind: 'sphere', m: 3, lambda: 5 },
  { kind: 'sphere', m: 2, lambda: 1000 },
  { kind: 'cos', m: 0.35, scale: 30 },
  { kind: 'arc', m: 0.5, scale: 30 },
  { kind: 'arc', m: 0.5, scale: 30, easyMargin: true },
];

// batch x classes x dim: from one row and two classes up to 256 x 1000.
const SIZES: [number, number, number][] = [
  [1, 2, 3],
  [7, 13, 8],
  [64, 100, 16],
  [256, 1000, 24],
];

describe('marginSoftmaxLoss against a float64 TypeScript reference', () => {
  for (const head of HEADS) {
    for (const [batch, classes, dim] of SIZES) {
      it(`${JSON.stringify(head)} batch ${batch}, classes ${classes}, dim ${dim}`, async () => {
        const random = new Random(batch * 7919 + classes);
        const features = random.normals(new Float32Array(batch * dim), 3);
        const weight = random.normals(new Float32Array(classes * dim), 0.1);
        const labels = random.labels(batch, classes);
        const result = await marginSoftmaxLoss({ features, weight, labels, dim, head });
        const expected = referenceLoss(features, weight, labels, dim, head);
        expect(result.loss).to.be.closeTo(expected.loss, 1e-4 * Math.max(1, expected.loss));
        expect(result.accuracy).to.equal(expected.accuracy);
        expect(result.gradFeatures).to.be.instanceOf(Float32Array);
        expectClose(result.gradFeatures, expected.gradFeatures, 2e-4, 'gradFeatures');
        expectClose(result.gradWeight, expected.gradWeight, 2e-4, 'gradWeight');
      });
    }
  }

  for (const [batch, classes, dim] of SIZES) {
    it(`softmax (logits <x, W_j> + b_j) batch ${batch}, classes ${classes}, dim ${dim}`, async () => {
      const random = new Random(batch * 31 + classes);
      const features = random.normals(new Float32Array(batch * dim), 1);
      const weight = random.normals(new Float32Array(classes * dim), 0.3);
      const bias = random.normals(new Float32Array(classes), 0.5);
      const labels = random.labels(batch, classes);
      const head = { kind: 'softmax' } as const;
      const result = await marginSoftmaxLoss({ features, weight, bias, labels, dim, head });
      const expected = referenceSoftmaxLoss(features, weight, bias, labels, dim);
      expect(result.loss).to.be.closeTo(expected.loss, 1e-4 * Math.max(1, expected.loss));
      expect(result.accuracy).to.equal(expected.accuracy);
      expectClose(result.gradFeatures, expected.gradFeatures, 2e-4, 'gradFeatures');
      expectClose(result.gradWeight, expected.gradWeight, 2e-4, 'gradWeight');
      expect(result.gradBias).to.be.instanceOf(Float32Array);
      expectClose(result.gradBias!, expected.gradBias!, 2e-4, 'gradBias');
    });
  }

  it('softmax neither normalises nor clamps: scaling W scales the logits', async () => {
    // One row, two classes, zero bias: logits (2s, -s) for W scaled by s, so
    // loss = log(1 + exp(-3s)) -- a normalising head would give the same loss for every s.
    const features = new Float64Array([1, 0]);
    const labels = new Int32Array([0]);
    const bias = new Float64Array([0, 0]);
    for (const s of [0.5, 1, 4]) {
      const weight = new Float64Array([2 * s, 0, -s, 0]);
      const { loss, accuracy } = await marginSoftmaxLoss({
        features,
        weight,
        bias,
        labels,
        dim: 2,
        head: { kind: 'softmax' },
      });
      expect(loss).to.be.closeTo(Math.log1p(Math.exp(-3 * s)), 1e-14);
      expect(accuracy).to.equal(1);
    }
  });

  it('softmax counts the largest logit, bias included, as the prediction', async () => {
    // Row 0's cosines favour class 0, but class 1's bias wins the logit.
    const weight = new Float32Array([1, 0, 0, 1]);
    const features = new Float32Array([1, 0.5, 0, 1]);
    const result = await marginSoftmaxLoss({
      features,
      weight,
      bias: new Float32Array([0, 1]),
      labels: new Int32Array([1, 1]),
      dim: 2,
      head: { kind: 'softmax' },
    });
    expect(result.accuracy).to.equal(1);
  });

  it("arc's easy margin applies cos(t + m) where cos t > 0 and leaves the target plain elsewhere", async () => {
    // One row at angle t to W_0 and orthogonal to W_1, scale 1: loss = log(1 + exp(-u(t))), so
    // the target logit u(t) = -log(exp(loss) - 1).
    const weight = new Float64Array([1, 0, 0, 0, 0, 1]);
    const labels = new Int32Array([0]);
    const m = 0.5;
    for (const t of [0.2, 1.0, Math.PI / 2 - 0.01, Math.PI / 2 + 0.01, 2.5, 3.0]) {
      const features = new Float64Array([Math.cos(t), Math.sin(t), 0]);
      for (const easyMargin of [true, false]) {
        const { loss } = await marginSoftmaxLoss({
          features,
          weight,
          labels,
          dim: 3,
          head: { kind: 'arc', m, scale: 1, easyMargin },
        });
        const unit = -Math.log(Math.expm1(loss));
        const expected =
          easyMargin && t > Math.PI / 2
            ? Math.cos(t)
            : t + m <= Math.PI
              ? Math.cos(t + m)
              : Math.cos(t) - m * Math.sin(m);
        expect(unit, `easyMargin ${easyMargin}, t = ${t}`).to.be.closeTo(expected, 1e-9);
      }
    }
  });

  it('counts a row as correct when its largest plain cosine is the label', async () => {
    // Row 0 is nearest class 1, row 1 nearest class 0, row 2 nearest class 2; a margin so
    // large that every target logit loses does not change the accuracy.
    const weight = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const features = new Float32Array([0.1, 0.9, 0, 0.8, 0.1, 0.1, 0, 0.2, 0.7]);
    const labels = new Int32Array([1, 2, 2]);
    const result = await marginSoftmaxLoss({
      features,
      weight,
      labels,
      dim: 3,
      head: { kind: 'cos', m: 1.9, scale: 10 },
    });
    expect(result.accuracy).to.equal(2 / 3);
  });

  it('reduces to softmax over ||x|| cos for sphere m = 1, lambda = 0', async () => {
    const random = new Random(3);
    const [batch, classes, dim] = [9, 6, 5];
    const features = random.normals(new Float64Array(batch * dim), 2);
    const weight = random.normals(new Float64Array(classes * dim));
    const labels = random.labels(batch, classes);
    const result = await marginSoftmaxLoss({
      features,
      weight,
      labels,
      dim,
      head: { kind: 'sphere', m: 1 },
    });
    // The plain softmax cross-entropy of logits <x, W_j / ||W_j||>.
    let expected = 0;
    for (let i = 0; i < batch; i++) {
      const logits = Array.from({ length: classes }, (_, j) => {
        const w = weight.subarray(j * dim, (j + 1) * dim);
        const norm = Math.hypot(...w);
        return w.reduce((s, v, k) => s + (v / norm) * features[i * dim + k], 0);
      });
      const lse = Math.log(logits.reduce((s, z) => s + Math.exp(z), 0));
      expected += (lse - logits[labels[i]]) / batch;
    }
    expect(result.loss).to.be.closeTo(expected, 1e-12);
  });

  for (const m of [1, 2, 3, 4, 5, 6]) {
    it(`psi is decreasing on [0, pi] and matches (-1)^k cos(m t) - 2k for m = ${m}`, async () => {
      // One row at angle t to W_0 and orthogonal to W_1, norm 1, lambda 0:
      // loss = log(1 + exp(-psi(t))), so psi(t) = -log(exp(loss) - 1).
      const weight = new Float64Array([1, 0, 0, 0, 0, 1]);
      const labels = new Int32Array([0]);
      let previous = Infinity;
      for (let step = 0; step <= 90; step++) {
        const t = (step / 90) * Math.PI;
        const features = new Float64Array([Math.cos(t), Math.sin(t), 0]);
        const { loss } = await marginSoftmaxLoss({
          features,
          weight,
          labels,
          dim: 3,
          head: { kind: 'sphere', m },
        });
        const value = -Math.log(Math.expm1(loss));
        expect(value, `psi(${t})`).to.be.closeTo(psi(m, t), 1e-9);
        expect(value, `psi decreasing at t = ${t}`).to.be.below(previous + 1e-12);
        previous = value;
      }
    });
  }

  it('gives zero feature and weight rows a finite result, as F.normalize with eps does', async () => {
    const random = new Random(5);
    const [batch, classes, dim] = [4, 5, 6];
    for (const head of HEADS) {
      const features = random.normals(new Float64Array(batch * dim));
      const weight = random.normals(new Float64Array(classes * dim));
      features.fill(0, dim, 2 * dim); // row 1
      weight.fill(0, 2 * dim, 3 * dim); // class 2
      const labels = new Int32Array([2, 0, 1, 2]);
      const result = await marginSoftmaxLoss({ features, weight, labels, dim, head });
      expect(Number.isFinite(result.loss), 'finite loss').to.equal(true);
      for (const value of [...result.gradFeatures, ...result.gradWeight]) {
        expect(Number.isFinite(value)).to.equal(true);
      }
      const expected = referenceLoss(features, weight, labels, dim, head);
      expect(result.loss).to.be.closeTo(expected.loss, 1e-10);
      expectClose(result.gradFeatures, expected.gradFeatures, 1e-9, 'gradFeatures');
      expectClose(result.gradWeight, expected.gradWeight, 1e-9, 'gradWeight');
    }
  });
});

import { expect } from 'chai';
import { marginSoftmaxLoss } from '../../lib';
import type { MarginHead } from '../../lib/ops/margin-head';
import { Random } from './random';

// Gradients of the op (run in float64) against central finite differences of its own loss.
const DIM = 4;
const CLASSES = 5;
const STEP = 1e-6;

function normalize(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/**
 * Features whose angle to their class's weight row is exactly `angles[i]`: x = r (cos t w + sin t u)
 * with u a unit vector orthogonal to w, so each row's target angle lands where the test wants it.
 */
function rowsAtAngles(
  random: Random,
  weight: Float64Array,
  labels: Int32Array,
  angles: number[],
): Float64Array {
  const features = new Float64Array(angles.length * DIM);
  angles.forEach((t, i) => {
    const w = normalize(Array.from(weight.subarray(labels[i] * DIM, (labels[i] + 1) * DIM)));
    const v = Array.from({ length: DIM }, () => random.normal());
    const along = v.reduce((s, x, k) => s + x * w[k], 0);
    const u = normalize(v.map((x, k) => x - along * w[k]));
    const r = 0.5 + 2 * random.uniform();
    for (let k = 0; k < DIM; k++)
      features[i * DIM + k] = r * (Math.cos(t) * w[k] + Math.sin(t) * u[k]);
  });
  return features;
}

async function lossAt(
  features: Float64Array,
  weight: Float64Array,
  labels: Int32Array,
  head: MarginHead,
  bias?: Float64Array,
): Promise<number> {
  return (await marginSoftmaxLoss({ features, weight, bias, labels, dim: DIM, head })).loss;
}

async function expectGradientsMatchDifferences(
  features: Float64Array,
  weight: Float64Array,
  labels: Int32Array,
  head: MarginHead,
  bias?: Float64Array,
): Promise<void> {
  const result = await marginSoftmaxLoss({ features, weight, bias, labels, dim: DIM, head });
  expect(result.gradFeatures).to.be.instanceOf(Float64Array);
  const inputs: [Float64Array, Float64Array, string][] = [
    [features, result.gradFeatures, 'features'],
    [weight, result.gradWeight, 'weight'],
  ];
  if (bias) inputs.push([bias, result.gradBias!, 'bias']);
  for (const [values, grads, name] of inputs) {
    const scale = Math.max(1, ...Array.from(grads, Math.abs));
    for (let i = 0; i < values.length; i++) {
      const saved = values[i];
      values[i] = saved + STEP;
      const up = await lossAt(features, weight, labels, head, bias);
      values[i] = saved - STEP;
      const down = await lossAt(features, weight, labels, head, bias);
      values[i] = saved;
      const numeric = (up - down) / (2 * STEP);
      expect(grads[i], `${JSON.stringify(head)} d loss / d ${name}[${i}]`).to.be.closeTo(
        numeric,
        1e-6 * scale,
      );
    }
  }
}

/** Angles inside each of psi's intervals [k pi/m, (k+1) pi/m] and just inside their edges. */
function intervalAngles(m: number): number[] {
  const angles: number[] = [];
  for (let k = 0; k < m; k++) {
    const low = (k * Math.PI) / m;
    const high = ((k + 1) * Math.PI) / m;
    angles.push(low + 1e-3, (low + high) / 2, high - 1e-3);
  }
  return angles;
}

describe('marginSoftmaxLoss gradients (float64, central differences)', () => {
  for (const m of [1, 2, 3, 4]) {
    for (const lambda of [0, 1000]) {
      it(`sphere m=${m} lambda=${lambda}: rows in every k-interval and near its edges`, async () => {
        const random = new Random(100 * m + lambda);
        const weight = random.normals(new Float64Array(CLASSES * DIM));
        const angles = intervalAngles(m);
        const labels = random.labels(angles.length, CLASSES);
        const features = rowsAtAngles(random, weight, labels, angles);
        await expectGradientsMatchDifferences(features, weight, labels, {
          kind: 'sphere',
          m,
          lambda,
        });
      });
    }
  }

  for (const m of [0.1, 0.35, 0.5, 1]) {
    it(`cos m=${m} scale=8`, async () => {
      const random = new Random(7 + m * 100);
      const weight = random.normals(new Float64Array(CLASSES * DIM));
      const labels = random.labels(6, CLASSES);
      const features = random.normals(new Float64Array(6 * DIM));
      await expectGradientsMatchDifferences(features, weight, labels, { kind: 'cos', m, scale: 8 });
    });
  }

  for (const m of [0.2, 0.5, 1, 2]) {
    it(`arc m=${m} scale=8: rows on both sides of t + m = pi`, async () => {
      const random = new Random(11 + m * 100);
      const weight = random.normals(new Float64Array(CLASSES * DIM));
      const edge = Math.PI - m;
      const angles = [0.3, edge / 2, edge - 0.05, edge + 0.05, (edge + Math.PI) / 2];
      const labels = random.labels(angles.length, CLASSES);
      const features = rowsAtAngles(random, weight, labels, angles);
      await expectGradientsMatchDifferences(features, weight, labels, { kind: 'arc', m, scale: 8 });
    });
  }

  for (const m of [0.2, 0.5, 1]) {
    it(`arc m=${m} scale=8, easy margin: rows on both sides of cos t = 0`, async () => {
      const random = new Random(13 + m * 100);
      const weight = random.normals(new Float64Array(CLASSES * DIM));
      // Either side of the jump at t = pi/2, each far enough from it for the differences.
      const angles = [0.3, 1.2, Math.PI / 2 - 0.05, Math.PI / 2 + 0.05, 2.2, 3.0];
      const labels = random.labels(angles.length, CLASSES);
      const features = rowsAtAngles(random, weight, labels, angles);
      await expectGradientsMatchDifferences(features, weight, labels, {
        kind: 'arc',
        m,
        scale: 8,
        easyMargin: true,
      });
    });
  }

  it('softmax: features, weight and bias', async () => {
    const random = new Random(17);
    const weight = random.normals(new Float64Array(CLASSES * DIM));
    const bias = random.normals(new Float64Array(CLASSES));
    const labels = random.labels(6, CLASSES);
    const features = random.normals(new Float64Array(6 * DIM), 2);
    await expectGradientsMatchDifferences(features, weight, labels, { kind: 'softmax' }, bias);
  });
});

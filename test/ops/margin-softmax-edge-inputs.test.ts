import { expect } from 'chai';
import { marginSoftmaxLoss } from '../../lib';
import type { MarginHead } from '../../lib/ops/margin-head';
import { referenceLoss } from './margin-reference';
import { Random } from './random';
import { rejection } from '../rejection';

// The worst error over an array, relative to its largest |value|.
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  const scale = Math.max(1e-300, ...Array.from(expected, Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / scale);
  }
  return worst;
}

function onSharedMemory<A extends Float32Array | Float64Array | Int32Array>(array: A): A {
  const Type = array.constructor as new (buffer: SharedArrayBuffer) => A;
  const copy = new Type(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

const HEADS: Exclude<MarginHead, { kind: 'softmax' }>[] = [
  { kind: 'sphere', m: 4, lambda: 2 },
  { kind: 'cos', m: 0.35, scale: 30 },
  { kind: 'arc', m: 0.5, scale: 30 },
];
const [BATCH, CLASSES, DIM] = [9, 17, 8];

describe('marginSoftmaxLoss on unusual inputs', () => {
  it('takes features, weight and labels on a SharedArrayBuffer', async () => {
    const random = new Random(41);
    const features = random.normals(new Float32Array(BATCH * DIM), 3);
    const weight = random.normals(new Float32Array(CLASSES * DIM), 0.1);
    const labels = random.labels(BATCH, CLASSES);
    const head = HEADS[0];
    const result = await marginSoftmaxLoss({
      features: onSharedMemory(features),
      weight: onSharedMemory(weight),
      labels: onSharedMemory(labels),
      dim: DIM,
      head,
    });
    const expected = referenceLoss(features, weight, labels, DIM, head);
    expect(result.loss).to.be.closeTo(expected.loss, 1e-4 * expected.loss);
    expect(relativeError(result.gradFeatures, expected.gradFeatures)).to.be.below(2e-4);
    expect(relativeError(result.gradWeight, expected.gradWeight)).to.be.below(2e-4);
  });

  for (const head of HEADS) {
    it(`matches the float64 reference for float32 rows whose squares overflow float32 (${head.kind})`, async () => {
      // Entries near 1e20: each square (1e40) is beyond float32's 3.4e38, the norms are not.
      const random = new Random(43);
      const features = random.normals(new Float32Array(BATCH * DIM), 1e20);
      const weight = random.normals(new Float32Array(CLASSES * DIM), 0.1);
      const labels = random.labels(BATCH, CLASSES);
      const result = await marginSoftmaxLoss({ features, weight, labels, dim: DIM, head });
      const expected = referenceLoss(features, weight, labels, DIM, head);
      expect(Number.isFinite(expected.loss)).to.equal(true);
      expect(result.loss).to.be.closeTo(expected.loss, 1e-4 * expected.loss);
      expect(result.accuracy).to.equal(expected.accuracy);
      expect(relativeError(result.gradFeatures, expected.gradFeatures)).to.be.below(2e-4);
      expect(relativeError(result.gradWeight, expected.gradWeight)).to.be.below(2e-4);
    });
  }

  it('rejects float32 rows whose norms multiply beyond float32 with a RangeError naming them', async () => {
    const random = new Random(47);
    const features = random.normals(new Float64Array(BATCH * DIM), 1e30);
    const weight = random.normals(new Float64Array(CLASSES * DIM), 1e10);
    const labels = random.labels(BATCH, CLASSES);
    const head = HEADS[1];
    const error = await rejection(
      marginSoftmaxLoss({
        features: Float32Array.from(features),
        weight: Float32Array.from(weight),
        labels,
        dim: DIM,
        head,
      }),
    );
    expect(error).to.be.instanceOf(RangeError);
    expect(error.message).to.match(/features row \d+ \(norm .*\) and weight row \d+ \(norm .*\)/);
    expect(error.message).to.match(/float32.*Float64Array/);
    // The same rows in float64 fit: the loss is the reference's, whose cosines ignore the scale.
    const result = await marginSoftmaxLoss({ features, weight, labels, dim: DIM, head });
    const expected = referenceLoss(features, weight, labels, DIM, head);
    expect(result.loss).to.be.closeTo(expected.loss, 1e-9 * expected.loss);
  });

  it('never resolves to a non-finite loss: a scale that overflows float32 is a RangeError', async () => {
    const random = new Random(53);
    const features = random.normals(new Float32Array(BATCH * DIM), 3);
    const weight = random.normals(new Float32Array(CLASSES * DIM), 0.1);
    const labels = random.labels(BATCH, CLASSES);
    for (const scale of [1e30, 3e38]) {
      const head: MarginHead = { kind: 'cos', m: 0.35, scale };
      const outcome = await marginSoftmaxLoss({ features, weight, labels, dim: DIM, head }).then(
        (result) => result,
        (error: unknown) => error as Error,
      );
      if (outcome instanceof Error) {
        expect(outcome, `scale ${scale}`).to.be.instanceOf(RangeError);
        expect(outcome.message).to.match(/overflow/);
      } else {
        const values = [outcome.loss, ...outcome.gradFeatures, ...outcome.gradWeight];
        expect(values.every(Number.isFinite), `scale ${scale}`).to.equal(true);
      }
    }
  });
});

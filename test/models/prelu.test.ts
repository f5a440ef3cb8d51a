import { expect } from 'chai';
import { nativeTesting } from '../../lib/native';
import { random } from './synthetic-identities';

// Per-channel PReLU and its gradients written out in float64 over N x C x H x W arrays.
function reference(
  x: Float32Array,
  [, c, h, w]: number[],
  slope: Float32Array,
  grad: Float32Array,
): { y: Float64Array; gradX: Float64Array; gradSlope: Float64Array } {
  const y = new Float64Array(x.length);
  const gradX = new Float64Array(x.length);
  const gradSlope = new Float64Array(c);
  for (let i = 0; i < x.length; i++) {
    const channel = Math.floor(i / (h * w)) % c;
    const a = slope[channel];
    y[i] = x[i] > 0 ? x[i] : a * x[i];
    gradX[i] = x[i] > 0 ? grad[i] : a * grad[i];
    if (x[i] <= 0) gradSlope[channel] += grad[i] * x[i];
  }
  return { y, gradX, gradSlope };
}

function worstRelative(actual: Float32Array, expected: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i])));
  }
  return worst;
}

describe('fused PReLU (the nets’ activation)', () => {
  for (const channelsLast of [false, true]) {
    it(`matches a float64 reference forward and backward (${channelsLast ? 'channels-last' : 'NCHW'})`, () => {
      const rand = random(channelsLast ? 11 : 12);
      // More pixels than the backward's 64 slope chunks and planes on both threads; exact zeros
      // included, where the input gradient takes the slope branch and adds nothing to its own.
      const shape: [number, number, number, number] = [3, 20, 9, 7];
      const size = shape.reduce((a, b) => a * b);
      const x = Float32Array.from({ length: size }, (_, i) => (i % 17 === 0 ? 0 : rand() * 2 - 1));
      const slope = Float32Array.from({ length: shape[1] }, () => rand() * 0.5);
      const grad = Float32Array.from({ length: size }, () => rand() * 2 - 1);
      const actual = nativeTesting().preluForTests(x, shape, slope, grad, channelsLast);
      const expected = reference(x, shape, slope, grad);
      expect(worstRelative(actual.y, expected.y)).to.be.below(1e-7);
      expect(worstRelative(actual.gradX, expected.gradX)).to.be.below(1e-7);
      expect(worstRelative(actual.gradSlope, expected.gradSlope)).to.be.below(1e-6);
    });
  }

  it('rejects a slope count that does not match the channels', () => {
    const x = new Float32Array(2 * 3 * 2 * 2);
    expect(() =>
      nativeTesting().preluForTests(
        x,
        [2, 3, 2, 2],
        new Float32Array(2),
        new Float32Array(x.length),
        false,
      ),
    ).to.throw(/parameter numbers and input channel size/);
  });
});

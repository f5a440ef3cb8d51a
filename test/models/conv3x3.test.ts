import { expect } from 'chai';
import { info } from '../../lib/info';
import { nativeTesting } from '../../lib/native';
import { dnnlRequired } from './require-dnnl';
import { conv3x3Reference as reference, worstScaledError } from './conv-reference';
import type { Shape } from './conv-reference';
import { random } from './synthetic-identities';

describe('residual 3x3 convolution (Winograd where oneDNN has it)', () => {
  for (const channelsLast of [true, false]) {
    it(`matches a float64 direct convolution forward and backward (${channelsLast ? 'channels-last' : 'NCHW'})`, () => {
      const rand = random(channelsLast ? 21 : 22);
      // 10 images: two chunks of 5 (weight gradients summed over both);
      // 10 x 9: neither a multiple of Winograd's 4 x 4 output tiles, so edge tiles are covered.
      const shape: Shape = [10, 32, 10, 9];
      const k = 16;
      const [n, , h, w] = shape;
      const size = shape.reduce((a, b) => a * b);
      const x = Float32Array.from({ length: size }, () => rand() * 2 - 1);
      const weight = Float32Array.from({ length: k * shape[1] * 9 }, () => (rand() * 2 - 1) * 0.1);
      const grad = Float32Array.from({ length: n * k * h * w }, () => rand() * 2 - 1);
      const actual = nativeTesting().conv3x3ForTests(x, shape, weight, k, grad, channelsLast);
      const expected = reference(x, shape, weight, k, grad);
      // Float32 rounding leaves each result within a few eps (1.2e-7) of its products' absolute
      // sum; Winograd's input and output transforms raise the constant (measured here: 3-5 eps
      // with Winograd, 1-2 eps direct). A wrong tap or tile would be off by about 1/27 of it.
      const bound = 16 * 1.2e-7;
      expect(worstScaledError(actual.y, expected.y, expected.yScale)).to.be.below(bound);
      expect(worstScaledError(actual.gradX, expected.gradX, expected.gradXScale)).to.be.below(
        bound,
      );
      expect(
        worstScaledError(actual.gradWeight, expected.gradWeight, expected.gradWeightScale),
      ).to.be.below(bound);
      expect(actual.winograd).to.equal(info().winograd);
      if (dnnlRequired)
        expect(actual.winograd, 'SPHEREFACE_REQUIRE_DNNL=1: Winograd ran').to.equal(true);
    });
  }

  // model.embed's path: inference kernels, weights transformed once and kept. One image takes
  // oneDNN's F(2x2, 3x3) kernel here, nine images its F(4x4, 3x3) one, in chunks of 5 and 4,
  // whose weight layouts differ: both are kept.
  for (const n of [1, 9]) {
    it(`matches it as model.embed runs it, with made and with kept weights (${n} image${n > 1 ? 's' : ''})`, () => {
      const rand = random(23 + n);
      const shape: Shape = [n, 32, 10, 9];
      const k = 16;
      const size = shape.reduce((a, b) => a * b);
      const x = Float32Array.from({ length: size }, () => rand() * 2 - 1);
      const weight = Float32Array.from({ length: k * shape[1] * 9 }, () => (rand() * 2 - 1) * 0.1);
      const grad = new Float32Array(n * k * shape[2] * shape[3]);
      const actual = nativeTesting().conv3x3InferenceForTests(x, shape, weight, k, true);
      const expected = reference(x, shape, weight, k, grad);
      expect(worstScaledError(actual.y, expected.y, expected.yScale)).to.be.below(16 * 1.2e-7);
      expect(actual.again).to.deep.equal(actual.y);
      expect(actual.transformsAgain, 'the second call transforms nothing').to.equal(
        actual.transformsFirst,
      );
      expect(actual.transformsFirst > 0).to.equal(actual.winograd);
      expect(actual.winograd).to.equal(info().winograd);
      if (dnnlRequired)
        expect(actual.winograd, 'SPHEREFACE_REQUIRE_DNNL=1: Winograd ran').to.equal(true);
    });
  }

  // sphere20's 256-channel stage at nine images: its chunks of 5 and 4 take the same kernel with
  // the weights laid out differently; a cache that held one copy per weight made each call
  // transform the weights twice (about 4x the call's time).
  it('keeps a weight in both layouts a batch of two chunk sizes wants', () => {
    const rand = random(40);
    const shape: Shape = [9, 256, 14, 12];
    const x = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rand() * 2 - 1);
    const weight = Float32Array.from({ length: 256 * 256 * 9 }, () => (rand() * 2 - 1) * 0.02);
    const actual = nativeTesting().conv3x3InferenceForTests(x, shape, weight, 256, true);
    expect(actual.again).to.deep.equal(actual.y);
    expect(actual.transformsAgain, 'the second call transforms nothing').to.equal(
      actual.transformsFirst,
    );
    expect(actual.transformsFirst).to.equal(actual.winograd ? 2 : 0);
  });
});

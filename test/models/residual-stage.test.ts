import { expect } from 'chai';
import { info } from '../../lib/info';
import { nativeTesting } from '../../lib/native';
import type { ResidualUnitWeights } from '../../lib/native/testing-binding';
import { conv3x3Reference, type Shape } from './conv-reference';
import { dnnlRequired } from './require-dnnl';
import { random } from './synthetic-identities';

// The per-conv rounding bound the conv tests hold (conv3x3.test.ts): 16 float32 eps of the sum of
// the absolute values of the products that make each result.
const CONV_BOUND = 16 * 1.2e-7;

// x through the units in float64 (x + prelu(conv2(prelu(conv1(x) + b1)) + b2) per unit), with
// each output's error bound: each conv adds CONV_BOUND of its products' absolute sum (and of its
// bias) to the bound it carries from its input, which reaches the output through |w|; a PReLU
// scales a carried error by at most max(1, |slope|); the shortcut adds the two bounds.
function stageReference(x: Float32Array, shape: Shape, units: ResidualUnitWeights[]) {
  const [n, c, h, w] = shape;
  const plane = h * w;
  const zeros = new Float64Array(n * c * plane);
  let value = Float64Array.from(x);
  let bound = new Float64Array(value.length);
  const convPrelu = (
    input: Float64Array,
    inputBound: Float64Array,
    weight: Float32Array,
    slope: Float32Array,
    bias?: Float32Array,
  ) => {
    const { y, yScale } = conv3x3Reference(input, shape, weight, c, zeros);
    const carried = conv3x3Reference(inputBound, shape, weight.map(Math.abs), c, zeros).y;
    const outBound = new Float64Array(y.length);
    for (let i = 0; i < y.length; i++) {
      const channel = Math.floor(i / plane) % c;
      const b = bias ? bias[channel] : 0;
      const pre = y[i] + b;
      const a = slope[channel];
      y[i] = pre > 0 ? pre : a * pre;
      outBound[i] =
        (CONV_BOUND * (yScale[i] + Math.abs(b)) + carried[i]) * Math.max(1, Math.abs(a));
    }
    return { y, outBound };
  };
  for (const unit of units) {
    const first = convPrelu(value, bound, unit.conv1, unit.prelu1, unit.bias1);
    const second = convPrelu(first.y, first.outBound, unit.conv2, unit.prelu2, unit.bias2);
    value = value.map((v, i) => v + second.y[i]);
    bound = bound.map((e, i) => e + second.outBound[i]);
  }
  return { value, bound };
}

function randomUnit(rand: () => number, channels: number, bias: boolean): ResidualUnitWeights {
  const uniform = (length: number, scale: number, offset = 0) =>
    Float32Array.from({ length }, () => offset + (rand() * 2 - 1) * scale);
  const weights = channels * channels * 9;
  return {
    conv1: uniform(weights, 0.1),
    prelu1: uniform(channels, 0.2, 0.25),
    conv2: uniform(weights, 0.1),
    prelu2: uniform(channels, 0.2, 0.25),
    ...(bias ? { bias1: uniform(channels, 0.5), bias2: uniform(channels, 0.5) } : {}),
  };
}

// model.embed runs SphereNet's residual stages on activations kept in oneDNN's blocked layout
// where the Winograd inference kernels use it (native/nets/winograd_conv.h): one reorder into it
// before a stage's first unit and one out after its last, the PReLUs and biases applied to it.
describe('residual stage as model.embed runs it (blocked activations where oneDNN has them)', () => {
  // 1 image: F(2x2, 3x3) kernels here; 9: chunks of 5 and 4. 10 x 9: edge tiles.
  // 32 channels: two blocks of 16, so a channel's block and lane both matter.
  const cases = [
    { n: 1, channelsLast: true, bias: false },
    { n: 9, channelsLast: false, bias: false },
    { n: 9, channelsLast: true, bias: true },
  ];
  for (const { n, channelsLast, bias } of cases) {
    it(`matches a float64 reference within its rounding bound (${n} image${n > 1 ? 's' : ''}, ${channelsLast ? 'channels-last' : 'NCHW'}${bias ? ', with biases' : ''})`, () => {
      const rand = random(60 + n + (bias ? 1 : 0));
      const shape: Shape = [n, 32, 10, 9];
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rand() * 2 - 1);
      const units = [randomUnit(rand, 32, bias), randomUnit(rand, 32, bias)];
      const actual = nativeTesting().residualStageForTests(x, shape, units, channelsLast);
      const expected = stageReference(x, shape, units);
      let worst = 0;
      for (let i = 0; i < x.length; i++) {
        worst = Math.max(worst, Math.abs(actual.y[i] - expected.value[i]) / expected.bound[i]);
      }
      // Every output within its bound (measured: within 0.0003 of it). Slopes read from the
      // neighbouring lane measured 21-37 bounds off.
      expect(worst).to.be.at.most(1);
      expect(actual.blocked).to.equal(info().winograd && info().blockedConvs);
      if (dnnlRequired) expect(actual.blocked, 'SPHEREFACE_REQUIRE_DNNL=1: blocked').to.equal(true);
    });
  }
});

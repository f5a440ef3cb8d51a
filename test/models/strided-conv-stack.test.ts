import { expect } from 'chai';
import { info } from '../../lib/info';
import { nativeTesting } from '../../lib/native';
import { dnnlRequired } from './require-dnnl';
import { random } from './synthetic-identities';

type Shape = [number, number, number, number];
interface Layer {
  weight: Float32Array;
  bias: Float32Array;
}

const outSide = (side: number) => Math.floor((side - 3) / 2) + 1;

// sphere-cnn4's layers (3x3 conv, stride 2, no padding, bias, ReLU) forward and backward in
// float64, straight from the definitions: y = relu(b + sum w * x), flattened in NCHW order.
function reference(x: Float32Array, shape: Shape, layers: Layer[], grad: Float32Array) {
  const [n] = shape;
  let [, c, h, w] = shape;
  let input = Float64Array.from(x);
  const saved: { input: Float64Array; c: number; h: number; w: number; pre: Float64Array }[] = [];
  for (const { weight, bias } of layers) {
    const k = bias.length;
    const oh = outSide(h);
    const ow = outSide(w);
    const pre = new Float64Array(n * k * oh * ow);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < k; o++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            let sum = bias[o];
            for (let ch = 0; ch < c; ch++) {
              for (let di = 0; di < 3; di++) {
                for (let dj = 0; dj < 3; dj++) {
                  const tap = ((o * c + ch) * 3 + di) * 3 + dj;
                  sum += weight[tap] * input[((b * c + ch) * h + 2 * i + di) * w + 2 * j + dj];
                }
              }
            }
            pre[((b * k + o) * oh + i) * ow + j] = sum;
          }
        }
      }
    }
    saved.push({ input, c, h, w, pre });
    input = pre.map((v) => Math.max(v, 0));
    [c, h, w] = [k, oh, ow];
  }
  const y = input;
  let gradOut = Float64Array.from(grad);
  const gradWeights: Float64Array[] = [];
  const gradBiases: Float64Array[] = [];
  for (let l = layers.length - 1; l >= 0; l--) {
    const { weight, bias } = layers[l];
    const { input: a, c: ci, h: hi, w: wi, pre } = saved[l];
    const k = bias.length;
    const oh = outSide(hi);
    const ow = outSide(wi);
    const gradWeight = new Float64Array(weight.length);
    const gradBias = new Float64Array(k);
    const gradInput = new Float64Array(a.length);
    for (let b = 0; b < n; b++) {
      for (let o = 0; o < k; o++) {
        for (let i = 0; i < oh; i++) {
          for (let j = 0; j < ow; j++) {
            const out = ((b * k + o) * oh + i) * ow + j;
            const g = pre[out] > 0 ? gradOut[out] : 0;
            gradBias[o] += g;
            for (let ch = 0; ch < ci; ch++) {
              for (let di = 0; di < 3; di++) {
                for (let dj = 0; dj < 3; dj++) {
                  const tap = ((o * ci + ch) * 3 + di) * 3 + dj;
                  const at = ((b * ci + ch) * hi + 2 * i + di) * wi + 2 * j + dj;
                  gradWeight[tap] += g * a[at];
                  gradInput[at] += g * weight[tap];
                }
              }
            }
          }
        }
      }
    }
    gradWeights[l] = gradWeight;
    gradBiases[l] = gradBias;
    gradOut = gradInput;
  }
  return { y, gradX: gradOut, gradWeights, gradBiases };
}

// The worst error relative to the largest expected magnitude of the same tensor.
function relativeError(actual: Float32Array | null, expected: Float64Array) {
  expect(actual).to.not.equal(null);
  expect(actual!.length).to.equal(expected.length);
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual![i] - expected[i]));
    largest = Math.max(largest, Math.abs(expected[i]));
  }
  return worst / largest;
}

function randomCase(seed: number, shape: Shape, channels: number[]) {
  const rand = random(seed);
  const uniform = (length: number, scale: number) =>
    Float32Array.from({ length }, () => (rand() * 2 - 1) * scale);
  const x = uniform(
    shape.reduce((a, b) => a * b),
    1,
  );
  let c = shape[1];
  const layers = channels.map((k) => {
    const layer = { weight: uniform(k * c * 9, Math.sqrt(3 / (c * 9))), bias: uniform(k, 0.1) };
    c = k;
    return layer;
  });
  let [h, w] = [shape[2], shape[3]];
  for (let i = 0; i < channels.length; i++) [h, w] = [outSide(h), outSide(w)];
  const grad = uniform(shape[0] * c * h * w, 1);
  return { x, layers, grad };
}

// Float32 rounding leaves every result within a few eps (1.2e-7) of the tensor's largest value
// (measured here: 0.4-4 eps on both paths); a wrong tap, channel order or block would be off by a
// sizeable fraction of it.
const bound = 32 * 1.2e-7;

function expectMatches(
  actual: ReturnType<ReturnType<typeof nativeTesting>['stridedConvStackForTests']>,
  expected: ReturnType<typeof reference>,
  wantGradX: boolean,
) {
  expect(relativeError(actual.y, expected.y)).to.be.below(bound);
  expected.gradWeights.forEach((gradWeight, i) => {
    expect(relativeError(actual.gradWeights[i], gradWeight), `layer ${i} weight`).to.be.below(
      bound,
    );
    expect(
      relativeError(actual.gradBiases[i], expected.gradBiases[i]),
      `layer ${i} bias`,
    ).to.be.below(bound);
  });
  if (wantGradX) expect(relativeError(actual.gradX, expected.gradX)).to.be.below(bound);
  else expect(actual.gradX).to.equal(null);
}

describe("sphere-cnn4's stride-2 conv + ReLU layers (oneDNN blocked where available)", () => {
  for (const channelsLast of [true, false]) {
    it(`match a float64 reference from 3-channel images (${channelsLast ? 'channels-last' : 'NCHW'})`, () => {
      // 23 x 21 -> 11 x 10 -> 5 x 4 -> 2 x 1: odd and even sides, and a last layer whose
      // flattened output mixes channel blocks and positions.
      const shape: Shape = [3, 3, 23, 21];
      const { x, layers, grad } = randomCase(channelsLast ? 31 : 32, shape, [16, 32, 16]);
      const actual = nativeTesting().stridedConvStackForTests(
        x,
        shape,
        layers,
        grad,
        channelsLast,
        false,
      );
      expectMatches(actual, reference(x, shape, layers, grad), false);
      // Training never asks for the images' gradient, so the blocked path serves it.
      expect(actual.blocked).to.equal(info().blockedConvs);
      if (dnnlRequired)
        expect(actual.blocked, 'SPHEREFACE_REQUIRE_DNNL=1: blocked ran').to.equal(true);
    });
  }

  it('are available wherever the Winograd convs are (the same oneDNN build and AVX-512 kernels)', () => {
    // Both paths need the shared oneDNN and its AVX-512 jit kernels; one without the other means
    // a descriptor the build should accept is being refused.
    expect(info().blockedConvs).to.equal(info().winograd);
  });

  it('give the input gradient when asked', () => {
    const shape: Shape = [2, 16, 13, 12];
    const { x, layers, grad } = randomCase(33, shape, [32, 16]);
    const actual = nativeTesting().stridedConvStackForTests(x, shape, layers, grad, false, true);
    expectMatches(actual, reference(x, shape, layers, grad), true);
  });
});

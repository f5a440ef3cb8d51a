// Float64 references for the nets' 3x3 convolutions, shared by the layer tests.

export type Shape = [number, number, number, number];

// conv2d(x, w, padding 1) and its two gradients, directly, in float64; with each result the sum
// of the absolute values of the products that make it, the scale rounding errors grow with.
export function conv3x3Reference(
  x: ArrayLike<number>,
  [n, c, h, w]: Shape,
  weight: ArrayLike<number>,
  k: number,
  grad: ArrayLike<number>,
) {
  const at = (b: number, ch: number, i: number, j: number, channels: number) =>
    ((b * channels + ch) * h + i) * w + j;
  const y = new Float64Array(n * k * h * w);
  const yScale = new Float64Array(y.length);
  const gradX = new Float64Array(x.length);
  const gradXScale = new Float64Array(x.length);
  const gradWeight = new Float64Array(weight.length);
  const gradWeightScale = new Float64Array(weight.length);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < k; o++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const out = at(b, o, i, j, k);
          for (let ch = 0; ch < c; ch++) {
            for (let di = 0; di < 3; di++) {
              const si = i + di - 1;
              if (si < 0 || si >= h) continue;
              for (let dj = 0; dj < 3; dj++) {
                const sj = j + dj - 1;
                if (sj < 0 || sj >= w) continue;
                const input = at(b, ch, si, sj, c);
                const tap = ((o * c + ch) * 3 + di) * 3 + dj;
                y[out] += weight[tap] * x[input];
                yScale[out] += Math.abs(weight[tap] * x[input]);
                gradX[input] += grad[out] * weight[tap];
                gradXScale[input] += Math.abs(grad[out] * weight[tap]);
                gradWeight[tap] += grad[out] * x[input];
                gradWeightScale[tap] += Math.abs(grad[out] * x[input]);
              }
            }
          }
        }
      }
    }
  }
  return { y, yScale, gradX, gradXScale, gradWeight, gradWeightScale };
}

// The worst error relative to each result's own scale (see reference()).
export function worstScaledError(
  actual: Float32Array,
  expected: Float64Array,
  scale: Float64Array,
) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / Math.max(scale[i], 1e-30));
  }
  return worst;
}

import { positiveInteger, type DeterministicTransform, type TransformSpec } from './transform';
import type { RawImage } from './raw-image';

/**
 * Resize like torchvision's `Resize(size)` on a PIL image: an integer size sets the shorter side
 * (the longer one becomes floor(size * long / short)), a [height, width] pair sets both.
 * Sampling is PIL's BILINEAR, which is antialiased: a triangle filter whose support widens with
 * the downscale factor (torchvision's `antialias=True`), applied horizontally then vertically
 * with 22-bit fixed-point weights and rounding to uint8 between the passes, as Pillow does.
 */
export class Resize implements DeterministicTransform {
  readonly random = false;
  readonly size: number | [number, number];

  constructor(size: number | [number, number]) {
    if (Array.isArray(size)) {
      if (size.length !== 2)
        throw new Error(`Resize: expected [height, width] but received ${size.length} numbers`);
      positiveInteger(size[0], 'size[0] (height)', 'Resize');
      positiveInteger(size[1], 'size[1] (width)', 'Resize');
      this.size = [size[0], size[1]];
    } else {
      this.size = positiveInteger(size, 'size', 'Resize');
    }
  }

  spec(): TransformSpec {
    return { kind: 'resize', size: this.size };
  }

  outputSize(height: number, width: number): [number, number] {
    if (Array.isArray(this.size)) return this.size;
    const s = this.size;
    if (width <= height) return [Math.floor((s * height) / width), s];
    return [s, Math.floor((s * width) / height)];
  }

  apply(image: RawImage): RawImage {
    const [outH, outW] = this.outputSize(image.height, image.width);
    return resizeBilinear(image, outW, outH);
  }
}

/**
 * Resize by the smallest factor that makes the image cover height x width (both sides at least
 * as large), keeping its aspect ratio, with Resize's sampling: what a centre crop to that size
 * needs. A square photo gets its side set to max(height, width), as Resize(max) would; an image
 * of the target's own aspect is scaled to exactly the target.
 */
export class ResizeToCover implements DeterministicTransform {
  readonly random = false;

  constructor(
    readonly height: number,
    readonly width: number,
  ) {
    positiveInteger(height, 'height', 'ResizeToCover');
    positiveInteger(width, 'width', 'ResizeToCover');
  }

  spec(): TransformSpec {
    return { kind: 'resize-to-cover', height: this.height, width: this.width };
  }

  outputSize(height: number, width: number): [number, number] {
    const scale = Math.max(this.height / height, this.width / width);
    return [
      Math.max(this.height, Math.round(height * scale)),
      Math.max(this.width, Math.round(width * scale)),
    ];
  }

  apply(image: RawImage): RawImage {
    const [outH, outW] = this.outputSize(image.height, image.width);
    if (outH === image.height && outW === image.width) return image;
    return resizeBilinear(image, outW, outH);
  }
}

const PRECISION_BITS = 32 - 8 - 2;

interface Taps {
  bounds: Int32Array; // per output: first input index, count
  weights: Int32Array; // per output: `window` fixed-point weights
  window: number;
}

const tapCache = new Map<string, Taps>();

// Pillow's precompute_coeffs for the bilinear (triangle) filter, then normalize_coeffs_8bpc.
// Cached per size pair: a dataset resizes the same sizes over and over.
function computeTaps(inSize: number, outSize: number): Taps {
  const key = `${inSize}>${outSize}`;
  let taps = tapCache.get(key);
  if (!taps) {
    taps = buildTaps(inSize, outSize);
    if (tapCache.size > 64) tapCache.clear();
    tapCache.set(key, taps);
  }
  return taps;
}

function buildTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const window = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * window);
  const pre = new Float64Array(window);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      pre[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? pre[x] / total : 0;
      // C's (int) truncates toward zero after adding +-0.5: round half away from zero.
      weights[xx * window + x] =
        w < 0
          ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS))
          : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, window };
}

const ROUND = 1 << (PRECISION_BITS - 1);

// Accumulators stay below 2^31 (255 * 2^22 plus the rounding term), so int32 maths is exact.
function clip8(v: number): number {
  const r = v >> PRECISION_BITS;
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

function horizontalPass(
  src: Uint8Array,
  inW: number,
  rows: number,
  outW: number,
  taps: Taps,
): Uint8Array {
  const out = new Uint8Array(rows * outW * 3);
  const { bounds, weights, window } = taps;
  for (let y = 0; y < rows; y++) {
    const rowIn = y * inW * 3;
    const rowOut = y * outW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2];
      const count = bounds[xx * 2 + 1];
      const k = xx * window;
      let r = ROUND;
      let g = ROUND;
      let b = ROUND;
      let p = rowIn + xmin * 3;
      for (let x = 0; x < count; x++, p += 3) {
        const w = weights[k + x];
        r = (r + Math.imul(src[p], w)) | 0;
        g = (g + Math.imul(src[p + 1], w)) | 0;
        b = (b + Math.imul(src[p + 2], w)) | 0;
      }
      const o = rowOut + xx * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

function verticalPass(src: Uint8Array, width: number, outH: number, taps: Taps): Uint8Array {
  const stride = width * 3;
  const out = new Uint8Array(outH * stride);
  const { bounds, weights, window } = taps;
  const acc = new Int32Array(stride);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2];
    const count = bounds[yy * 2 + 1];
    const k = yy * window;
    acc.fill(ROUND);
    for (let y = 0; y < count; y++) {
      const w = weights[k + y];
      const row = (ymin + y) * stride;
      for (let i = 0; i < stride; i++) acc[i] = (acc[i] + Math.imul(src[row + i], w)) | 0;
    }
    const o = yy * stride;
    for (let i = 0; i < stride; i++) out[o + i] = clip8(acc[i]);
  }
  return out;
}

/** Pillow-compatible antialiased bilinear resize of an RGB image. */
export function resizeBilinear(image: RawImage, outW: number, outH: number): RawImage {
  let data = image.data;
  let width = image.width;
  if (outW !== image.width) {
    data = horizontalPass(data, image.width, image.height, outW, computeTaps(image.width, outW));
    width = outW;
  }
  if (outH !== image.height) {
    data = verticalPass(data, width, outH, computeTaps(image.height, outH));
  }
  return { data: data === image.data ? data.slice() : data, width: outW, height: outH };
}

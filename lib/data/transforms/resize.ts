import {
  checkOutputPixels,
  positiveInteger,
  sizeArgument,
  type DeterministicTransform,
  type TransformSpec,
} from './transform';
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

  /**
   * `size` is at most MAX_OUTPUT_PIXELS (50 million) pixels: n x n for a shorter side n, or
   * height x width; an image whose aspect takes the longer side past the limit is a bad image.
   */
  constructor(size: number | [number, number]) {
    const [height, width] = sizeArgument(size, 'Resize');
    this.size = Array.isArray(size) ? [height, width] : height;
  }

  spec(): TransformSpec {
    return { kind: 'resize', size: this.size };
  }

  /**
   * The resized size of a height x width image; refuses one past the pixel limit, here where
   * every resize (alone or with the crop after it) gets its size, before anything is allocated.
   */
  outputSize(height: number, width: number): [number, number] {
    if (Array.isArray(this.size)) return this.size;
    const s = this.size;
    const out: [number, number] =
      width <= height
        ? [Math.floor((s * height) / width), s]
        : [s, Math.floor((s * width) / height)];
    checkOutputPixels(out[0], out[1], `size ${s} on ${height}x${width}`, 'Resize');
    return out;
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
    checkOutputPixels(height, width, `height x width`, 'ResizeToCover');
  }

  spec(): TransformSpec {
    return { kind: 'resize-to-cover', height: this.height, width: this.width };
  }

  /** The covering size of a height x width image; refuses one past the pixel limit, as Resize. */
  outputSize(height: number, width: number): [number, number] {
    const scale = Math.max(this.height / height, this.width / width);
    const outH = Math.max(this.height, Math.round(height * scale));
    const outW = Math.max(this.width, Math.round(width * scale));
    const target = `covering ${this.height}x${this.width} with ${height}x${width}`;
    checkOutputPixels(outH, outW, target, 'ResizeToCover');
    return [outH, outW];
  }

  apply(image: RawImage): RawImage {
    const [outH, outW] = this.outputSize(image.height, image.width);
    if (outH === image.height && outW === image.width) return image;
    return resizeBilinear(image, outW, outH);
  }
}

const PRECISION_BITS = 32 - 8 - 2;
const ROUND = 1 << (PRECISION_BITS - 1);

/**
 * One pass's filter: output i reads the `n` inputs from start[i] with weights[i * n ..]. Every
 * output gets the same number of taps (the most any needs): windows that would run past the
 * end are moved inwards and given zero weights there, so the kernels below are fixed-length,
 * unrolled sums. Zero-weight taps change nothing: the sums stay exactly Pillow's.
 */
interface Taps {
  start: Int32Array;
  weights: Int32Array;
  n: number;
}

const tapCache = new Map<string, Taps>();

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

// Pillow's precompute_coeffs for the bilinear (triangle) filter, then normalize_coeffs_8bpc.
function buildTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 1 * filterScale;
  const window = Math.ceil(support) * 2 + 1;
  const xmins = new Int32Array(outSize);
  const counts = new Int32Array(outSize);
  const fixed = new Int32Array(outSize * window);
  const pre = new Float64Array(window);
  const ss = 1 / filterScale;
  let n = 1;
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
      fixed[xx * window + x] =
        w < 0
          ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS))
          : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    xmins[xx] = xmin;
    counts[xx] = xmax;
    n = Math.max(n, xmax);
  }
  // Every window holds at most inSize inputs, so n <= inSize and each fits once moved inwards.
  const start = new Int32Array(outSize);
  // Six spare zeros at the end: the passes read six weights per output, whatever n.
  const weights = new Int32Array(outSize * n + 6);
  for (let xx = 0; xx < outSize; xx++) {
    const s = Math.min(xmins[xx], inSize - n);
    start[xx] = s;
    const at = xx * n + xmins[xx] - s;
    weights.set(fixed.subarray(xx * window, xx * window + counts[xx]), at);
  }
  return { start, weights, n };
}

// Accumulators stay below 2^31 (255 * 2^22 plus the rounding term), so the sums, in doubles, are
// exact integers and `>>` floors them as Pillow's arithmetic shift does. The passes store them
// through Uint8ClampedArray views, which clamp to 0..255 as Pillow's clip8 does. The 5- and
// 6-tap sums (downscales up to about 2.75x: 250 to 112 or to 96) are written out with their
// weights in locals, twice as fast as the loop.

/**
 * Horizontal pass over input rows r0..r1-1, output columns left..left+width-1: one output column
 * at a time, down the rows.
 */
function horizontalPass(
  src: Uint8Array,
  inW: number,
  r0: number,
  r1: number,
  left: number,
  width: number,
  taps: Taps,
): Uint8Array {
  const stride = width * 3;
  const inStride = inW * 3;
  const out = new Uint8ClampedArray((r1 - r0) * stride);
  const { start, weights, n } = taps;
  for (let j = 0; j < width; j++) {
    const k = (left + j) * n;
    const w0 = weights[k], w1 = weights[k + 1], w2 = weights[k + 2]; // prettier-ignore
    const w3 = weights[k + 3], w4 = weights[k + 4], w5 = weights[k + 5]; // prettier-ignore
    let p = r0 * inStride + start[left + j] * 3;
    let o = j * 3;
    if (n === 5) {
      for (; o < out.length; o += stride, p += inStride) {
        // prettier-ignore
        {
          out[o] = (ROUND + src[p] * w0 + src[p + 3] * w1 + src[p + 6] * w2 + src[p + 9] * w3 + src[p + 12] * w4) >> PRECISION_BITS;
          out[o + 1] = (ROUND + src[p + 1] * w0 + src[p + 4] * w1 + src[p + 7] * w2 + src[p + 10] * w3 + src[p + 13] * w4) >> PRECISION_BITS;
          out[o + 2] = (ROUND + src[p + 2] * w0 + src[p + 5] * w1 + src[p + 8] * w2 + src[p + 11] * w3 + src[p + 14] * w4) >> PRECISION_BITS;
        }
      }
    } else if (n === 6) {
      for (; o < out.length; o += stride, p += inStride) {
        // prettier-ignore
        {
          out[o] = (ROUND + src[p] * w0 + src[p + 3] * w1 + src[p + 6] * w2 + src[p + 9] * w3 + src[p + 12] * w4 + src[p + 15] * w5) >> PRECISION_BITS;
          out[o + 1] = (ROUND + src[p + 1] * w0 + src[p + 4] * w1 + src[p + 7] * w2 + src[p + 10] * w3 + src[p + 13] * w4 + src[p + 16] * w5) >> PRECISION_BITS;
          out[o + 2] = (ROUND + src[p + 2] * w0 + src[p + 5] * w1 + src[p + 8] * w2 + src[p + 11] * w3 + src[p + 14] * w4 + src[p + 17] * w5) >> PRECISION_BITS;
        }
      }
    } else {
      for (; o < out.length; o += stride, p += inStride) {
        let r = ROUND;
        let g = ROUND;
        let b = ROUND;
        for (let t = 0, q = p; t < n; t++, q += 3) {
          const w = weights[k + t];
          r += src[q] * w;
          g += src[q + 1] * w;
          b += src[q + 2] * w;
        }
        out[o] = r >> PRECISION_BITS;
        out[o + 1] = g >> PRECISION_BITS;
        out[o + 2] = b >> PRECISION_BITS;
      }
    }
  }
  return new Uint8Array(out.buffer);
}

/** Vertical pass: output rows top..top+height-1 from `src`, whose first row is input row r0. */
function verticalPass(
  src: Uint8Array,
  width: number,
  r0: number,
  top: number,
  height: number,
  taps: Taps,
): Uint8Array {
  const s = width * 3; // the row stride
  const out = new Uint8ClampedArray(height * s);
  const { start, weights, n } = taps;
  for (let y = 0, o = 0; y < height; y++) {
    const k = (top + y) * n;
    const w0 = weights[k], w1 = weights[k + 1], w2 = weights[k + 2]; // prettier-ignore
    const w3 = weights[k + 3], w4 = weights[k + 4], w5 = weights[k + 5]; // prettier-ignore
    const from = (start[top + y] - r0) * s;
    const end = from + s;
    if (n === 5) {
      // prettier-ignore
      for (let p = from; p < end; p++)
        out[o++] = (ROUND + src[p] * w0 + src[p + s] * w1 + src[p + 2 * s] * w2 + src[p + 3 * s] * w3 + src[p + 4 * s] * w4) >> PRECISION_BITS;
    } else if (n === 6) {
      // prettier-ignore
      for (let p = from; p < end; p++)
        out[o++] = (ROUND + src[p] * w0 + src[p + s] * w1 + src[p + 2 * s] * w2 + src[p + 3 * s] * w3 + src[p + 4 * s] * w4 + src[p + 5 * s] * w5) >> PRECISION_BITS;
    } else {
      for (let p = from; p < end; p++) {
        let sum = ROUND;
        for (let t = 0, q = p; t < n; t++, q += s) sum += src[q] * weights[k + t];
        out[o++] = sum >> PRECISION_BITS;
      }
    }
  }
  return new Uint8Array(out.buffer);
}

/** Rows top..top+height-1, columns left..left+width-1 of an image. */
export interface Window {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Copies a window that lies inside the image. */
function copyWindow(image: RawImage, { top, left, height, width }: Window): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * 3;
    out.set(image.data.subarray(from, from + width * 3), y * width * 3);
  }
  return out;
}

/**
 * Pillow-compatible antialiased bilinear resize of an RGB image to outW x outH, or only the
 * `window` of that result (which must lie inside it): the same bytes as resizing and then
 * cropping, computing only what the window keeps (the input rows its output rows read, its
 * columns). As Pillow, a side that keeps its size is not filtered.
 */
export function resizeBilinear(
  image: RawImage,
  outW: number,
  outH: number,
  window: Window = { top: 0, left: 0, height: outH, width: outW },
): RawImage {
  const { top, left, height, width } = window;
  if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > outH || left + width > outW)
    throw new Error(
      `resizeBilinear: the window ${height}x${width} at (${top}, ${left}) is not inside ${outH}x${outW}`,
    );
  const vertical = outH !== image.height ? computeTaps(image.height, outH) : undefined;
  // The input rows the horizontal pass must give: those the window's output rows read.
  const r0 = vertical ? vertical.start[top] : top;
  const r1 = vertical ? vertical.start[top + height - 1] + vertical.n : top + height;
  const rows =
    outW !== image.width
      ? horizontalPass(image.data, image.width, r0, r1, left, width, computeTaps(image.width, outW))
      : copyWindow(image, { top: r0, left, height: r1 - r0, width });
  const data = vertical ? verticalPass(rows, width, r0, top, height, vertical) : rows;
  return { data, width, height };
}

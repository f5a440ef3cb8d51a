import { describeReceived } from '../../util/describe-received';

/**
 * torchvision's ToTensor + Normalize(mean, std) over a batch: uint8 n x h x w x 3 in, float32
 * n x 3 x h x w out, (x / 255 - mean[c]) / std[c]. For users who feed their own code; the
 * native training path normalises while it converts and does not need this.
 */
const describe = (value: unknown) =>
  Array.isArray(value) ? `[${value.join(', ')}]` : describeReceived(value);

export class Normalize {
  readonly mean: [number, number, number];
  readonly std: [number, number, number];

  constructor(mean: readonly number[], std: readonly number[]) {
    // On the 0..1 scale: a mean over 1 is the 0..255 scale's (127.5), a mistake worth naming.
    if (!Array.isArray(mean) || mean.length !== 3 || !mean.every((m) => Math.abs(m) <= 1)) {
      throw new Error(
        `Normalize: expected 3 numbers in [-1, 1] for mean (torchvision's scale: pixels / 255) but received ${describe(mean)}`,
      );
    }
    if (!Array.isArray(std)) {
      throw new Error(
        `Normalize: expected 3 positive numbers for std but received ${describe(std)}`,
      );
    }
    if (std.length !== 3 || !std.every((s) => Number.isFinite(s) && s > 0)) {
      throw new Error(
        `Normalize: expected 3 positive numbers for std but received [${std.join(', ')}]`,
      );
    }
    this.mean = [mean[0], mean[1], mean[2]];
    this.std = [std[0], std[1], std[2]];
  }

  apply(images: Uint8Array, n: number, height: number, width: number): Float32Array {
    const plane = height * width;
    if (images.length !== n * plane * 3) {
      throw new Error(
        `Normalize: expected ${n}x${height}x${width}x3 = ${n * plane * 3} bytes but received ${images.length}`,
      );
    }
    const out = new Float32Array(n * 3 * plane);
    for (let c = 0; c < 3; c++) {
      const scale = 1 / (255 * this.std[c]);
      const shift = this.mean[c] / this.std[c];
      for (let i = 0; i < n; i++) {
        const src = i * plane * 3 + c;
        const dst = (i * 3 + c) * plane;
        for (let p = 0; p < plane; p++) out[dst + p] = images[src + p * 3] * scale - shift;
      }
    }
    return out;
  }
}

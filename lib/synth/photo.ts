// What surrounds the drawing of the head: the background behind it and the camera's response.
import { ellipse, IDENTITY_TRANSFORM, roundedRect, type Raster } from './raster';
import type { ImageVariation } from './variation';

export function drawBackground(canvas: Raster, v: ImageVariation): void {
  const { from, to, angle, clutter } = v.background;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const size = canvas.width;
  const data = canvas.data;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = Math.max(0, Math.min(1, ((x - size / 2) * c + (y - size / 2) * s) / size + 0.5));
      const o = (y * size + x) * 3;
      data[o] = from[0] + (to[0] - from[0]) * t;
      data[o + 1] = from[1] + (to[1] - from[1]) * t;
      data[o + 2] = from[2] + (to[2] - from[2]) * t;
    }
  }
  for (const item of clutter) {
    const shape = item.box
      ? roundedRect(item.x - item.rx, item.y - item.ry, item.x + item.rx, item.y + item.ry, 4)
      : ellipse(item.x, item.y, item.rx, item.ry, item.angle);
    canvas.fill(shape, item.colour, IDENTITY_TRANSFORM);
  }
}

/** Camera response: colour gain and tint, contrast, gamma, sensor noise, 8-bit quantisation. */
export function developPhoto(canvas: Raster, v: ImageVariation): Uint8Array {
  const data = canvas.data;
  const out = new Uint8Array(data.length);
  // The tone curve per channel as a table over [0, 2) in steps of 1/1024: Math.pow per
  // sample costs more than all the drawing.
  const steps = 2048;
  const curves = [0, 1, 2].map((c) => {
    const table = new Float32Array(steps + 1);
    const gain = v.gain[c] * v.lightTint[c];
    for (let i = 0; i <= steps; i++) {
      const x = ((i / steps) * 2 * gain - 0.5) * v.contrast + 0.5;
      table[i] = Math.pow(Math.max(0, Math.min(1, x)), v.gamma) * 255;
    }
    return table;
  });
  // Noise: the two 16-bit halves of one xorshift32 draw, summed (bell-shaped, sd 1 / sqrt(6)).
  let state = v.noiseSeed | 1;
  const noise = ((v.noise * Math.sqrt(6) * 255) / 65536) as number;
  for (let i = 0; i < data.length; i++) {
    const table = curves[i % 3];
    const index = Math.min(steps, Math.max(0, Math.round(data[i] * (steps / 2))));
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const draw = (state & 0xffff) + (state >>> 16) - 65535;
    const x = table[index] + noise * draw;
    out[i] = x <= 0 ? 0 : x >= 255 ? 255 : Math.round(x);
  }
  return out;
}

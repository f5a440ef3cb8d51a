// A float RGB raster that the face renderer paints shapes onto. Shapes are signed distance
// functions in a local frame (the face's), mapped to the image by a similarity transform, so one
// shape description serves every pose, scale and rotation; edges are anti-aliased from the
// distance, which keeps thin features (lids, brows, frames) visible after downscaling.

export type Rgb = readonly [number, number, number];

/** image = [a -b; b a] * local + (tx, ty): rotation + uniform scale + shift. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** A shape in local units: negative distance inside, positive outside. */
export interface Shape {
  /** Local-frame bounds [x0, y0, x1, y1] that contain the whole shape. */
  bounds: readonly [number, number, number, number];
  distance(x: number, y: number): number;
}

/** Colour per local point (textures); writes into `out` to avoid an allocation per pixel. */
export type Paint = Rgb | ((x: number, y: number, out: number[]) => void);

/** Brightness multiplier per local point (the light falling on the head). */
export type Shading = (x: number, y: number) => number;

export const IDENTITY_TRANSFORM: Similarity = { a: 1, b: 0, tx: 0, ty: 0 };

export class Raster {
  readonly data: Float32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Float32Array(width * height * 3);
  }

  /**
   * Blends `paint` into the pixels covered by `shape` with the given opacity. `shading`
   * multiplies the colour (lighting), evaluated at the pixel's local coordinates.
   */
  fill(
    shape: Shape,
    paint: Paint,
    transform: Similarity,
    options: { opacity?: number; shading?: Shading } = {},
  ): void {
    const { a, b, tx, ty } = transform;
    const scale = Math.hypot(a, b);
    const inv = 1 / (scale * scale);
    const [x0, y0, x1, y1] = shape.bounds;
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const [lx, ly] of [
      [x0, y0],
      [x1, y0],
      [x0, y1],
      [x1, y1],
    ]) {
      const ix = a * lx - b * ly + tx;
      const iy = b * lx + a * ly + ty;
      minX = Math.min(minX, ix);
      maxX = Math.max(maxX, ix);
      minY = Math.min(minY, iy);
      maxY = Math.max(maxY, iy);
    }
    const px0 = Math.max(0, Math.floor(minX - 1));
    const py0 = Math.max(0, Math.floor(minY - 1));
    const px1 = Math.min(this.width - 1, Math.ceil(maxX + 1));
    const py1 = Math.min(this.height - 1, Math.ceil(maxY + 1));
    const opacity = options.opacity ?? 1;
    const shading = options.shading;
    const colour = [0, 0, 0];
    const data = this.data;
    for (let py = py0; py <= py1; py++) {
      for (let px = px0; px <= px1; px++) {
        // Pixel centre back to the local frame (inverse similarity).
        const dx = px + 0.5 - tx;
        const dy = py + 0.5 - ty;
        const lx = (a * dx + b * dy) * inv;
        const ly = (-b * dx + a * dy) * inv;
        const d = shape.distance(lx, ly) * scale;
        if (d >= 0.5) continue;
        const coverage = (d <= -0.5 ? 1 : 0.5 - d) * opacity;
        if (typeof paint === 'function') paint(lx, ly, colour);
        else {
          colour[0] = paint[0];
          colour[1] = paint[1];
          colour[2] = paint[2];
        }
        const light = shading ? shading(lx, ly) : 1;
        const o = (py * this.width + px) * 3;
        data[o] += (colour[0] * light - data[o]) * coverage;
        data[o + 1] += (colour[1] * light - data[o + 1]) * coverage;
        data[o + 2] += (colour[2] * light - data[o + 2]) * coverage;
      }
    }
  }
}

// ---- shapes -------------------------------------------------------------------------------

/** Ellipse centred at (cx, cy), half-axes rx, ry, turned by `angle` radians. */
export function ellipse(cx: number, cy: number, rx: number, ry: number, angle = 0): Shape {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const r = Math.max(rx, ry);
  const m = Math.min(rx, ry);
  return {
    bounds: [cx - r, cy - r, cx + r, cy + r],
    distance(x, y) {
      const dx = x - cx;
      const dy = y - cy;
      const u = (c * dx + s * dy) / rx;
      const v = (-s * dx + c * dy) / ry;
      // Scaled radial distance: exact on the axes, close enough elsewhere for anti-aliasing.
      return (Math.sqrt(u * u + v * v) - 1) * m;
    },
  };
}

/** A stroke of radius r along the polyline through `points` (x0, y0, x1, y1, ...). */
export function stroke(points: readonly number[], r: number): Shape {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]);
    x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]);
    y1 = Math.max(y1, points[i + 1]);
  }
  return {
    bounds: [x0 - r, y0 - r, x1 + r, y1 + r],
    distance(x, y) {
      let best = Infinity;
      for (let i = 0; i + 3 < points.length; i += 2) {
        const ax = points[i];
        const ay = points[i + 1];
        const bx = points[i + 2] - ax;
        const by = points[i + 3] - ay;
        const px = x - ax;
        const py = y - ay;
        const len2 = bx * bx + by * by;
        const t = len2 > 0 ? Math.max(0, Math.min(1, (px * bx + py * by) / len2)) : 0;
        const ex = px - t * bx;
        const ey = py - t * by;
        best = Math.min(best, ex * ex + ey * ey);
      }
      return Math.sqrt(best) - r;
    },
  };
}

/** Points of the quadratic Bezier (x0,y0) -> (x2,y2) bent towards control (x1,y1). */
export function curve(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  segments = 8,
): number[] {
  const points: number[] = [];
  for (let i = 0; i <= segments; i++) {
    const t = i / segments;
    const u = 1 - t;
    points.push(u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2);
  }
  return points;
}

/** Axis-aligned rectangle with rounded corners of radius r. */
export function roundedRect(x0: number, y0: number, x1: number, y1: number, r: number): Shape {
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const hx = (x1 - x0) / 2 - r;
  const hy = (y1 - y0) / 2 - r;
  return {
    bounds: [x0, y0, x1, y1],
    distance(x, y) {
      const qx = Math.abs(x - cx) - hx;
      const qy = Math.abs(y - cy) - hy;
      const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
      return outside + Math.min(Math.max(qx, qy), 0) - r;
    },
  };
}

/** Points inside both shapes. */
export function intersect(first: Shape, second: Shape): Shape {
  const [a0, a1, a2, a3] = first.bounds;
  const [b0, b1, b2, b3] = second.bounds;
  return {
    bounds: [Math.max(a0, b0), Math.max(a1, b1), Math.min(a2, b2), Math.min(a3, b3)],
    distance: (x, y) => Math.max(first.distance(x, y), second.distance(x, y)),
  };
}

/** Points inside `first` and outside `second`. */
export function subtract(first: Shape, second: Shape): Shape {
  return {
    bounds: first.bounds,
    distance: (x, y) => Math.max(first.distance(x, y), -second.distance(x, y)),
  };
}

/** Points inside either shape. */
export function union(first: Shape, second: Shape): Shape {
  const [a0, a1, a2, a3] = first.bounds;
  const [b0, b1, b2, b3] = second.bounds;
  return {
    bounds: [Math.min(a0, b0), Math.min(a1, b1), Math.max(a2, b2), Math.max(a3, b3)],
    distance: (x, y) => Math.min(first.distance(x, y), second.distance(x, y)),
  };
}

/** A shape given directly by its bounds and distance function. */
export function region(
  bounds: readonly [number, number, number, number],
  distance: (x: number, y: number) => number,
): Shape {
  return { bounds, distance };
}

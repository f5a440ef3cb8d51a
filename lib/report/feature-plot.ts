// Embeddings of 2 or 3 dimensions drawn as the SphereFace paper draws them: the direction of each
// feature (its length dropped), on the unit circle for 2-D and on the unit sphere, seen in an
// orthographic view, for 3-D; one colour per identity, one panel per loss.
import { IDENTITY_COLOURS, type Rgb8 } from './colours';
import { PlotCanvas } from './plot-canvas';
import { plotFonts } from './fonts';

export interface FeaturePanel {
  title: string;
  /** n x dim features (dim 2 or 3), row-major. */
  features: Float32Array | Float64Array;
  /** n identities, 0-based. */
  labels: Int32Array;
  /** A line under the title (e.g. the angles measured). */
  subtitle?: string;
}

export interface FeaturePlotSpec {
  title: string;
  dim: 2 | 3;
  panels: readonly FeaturePanel[];
  panelSize?: number; // default 300
}

const OUTLINE: Rgb8 = [60, 60, 60];
const GRID: Rgb8 = [215, 215, 215];

type Vec3 = [number, number, number];

function unitRows(features: Float32Array | Float64Array, dim: number): Vec3[] {
  const rows: Vec3[] = [];
  for (let i = 0; i < features.length / dim; i++) {
    const v: Vec3 = [
      features[i * dim],
      features[i * dim + 1],
      dim === 3 ? features[i * dim + 2] : 0,
    ];
    const n = Math.hypot(...v);
    rows.push(n > 0 ? [v[0] / n, v[1] / n, v[2] / n] : [0, 0, 0]);
  }
  return rows;
}

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];
const unit = (v: Vec3): Vec3 => {
  const n = Math.hypot(...v);
  return [v[0] / n, v[1] / n, v[2] / n];
};

/**
 * The viewing direction that shows the most of the identities: of 500 directions spread evenly
 * over the sphere (a Fibonacci lattice), the one with the most class means in the front
 * hemisphere, ties going to the larger sum of their depths. Deterministic.
 */
export function bestView(means: readonly Vec3[]): Vec3 {
  let best: Vec3 = [0, 0, 1];
  let bestScore = -Infinity;
  const count = 500;
  for (let k = 0; k < count; k++) {
    const z = 1 - (2 * (k + 0.5)) / count;
    const r = Math.sqrt(1 - z * z);
    const phi = k * Math.PI * (3 - Math.sqrt(5));
    const view: Vec3 = [r * Math.cos(phi), r * Math.sin(phi), z];
    const depths = means.map((m) => dot(m, view));
    const score = depths.filter((d) => d > 0).length * 1000 + depths.reduce((s, d) => s + d, 0);
    if (score > bestScore) [best, bestScore] = [view, score];
  }
  return best;
}

function classMeans(rows: readonly Vec3[], labels: Int32Array): Vec3[] {
  const classes = Math.max(-1, ...labels) + 1;
  const sums: Vec3[] = Array.from({ length: classes }, () => [0, 0, 0]);
  rows.forEach((v, i) => {
    for (let k = 0; k < 3; k++) sums[labels[i]][k] += v[k];
  });
  return sums.map((s) => (Math.hypot(...s) > 0 ? unit(s) : s));
}

export async function renderFeaturePlot(spec: FeaturePlotSpec): Promise<Buffer> {
  const size = spec.panelSize ?? 300;
  if (spec.dim !== 2 && spec.dim !== 3) {
    throw new RangeError(`Expected 2 or 3 for dim but received ${String(spec.dim)}`);
  }
  if (spec.panels.length === 0) throw new Error('Expected at least one panel');
  for (const panel of spec.panels) {
    if (panel.features.length !== panel.labels.length * spec.dim) {
      throw new Error(
        `Expected ${panel.labels.length} x ${spec.dim} features in panel '${panel.title}' but received ${panel.features.length} values`,
      );
    }
  }
  const fonts = await plotFonts();
  const header = 34;
  const canvas = new PlotCanvas(size * spec.panels.length, size + header + 44);
  canvas.text(fonts.title, canvas.width / 2, 8, spec.title, 'center');
  spec.panels.forEach((panel, p) => {
    const cx = p * size + size / 2;
    const cy = header + 40 + (size - 40) / 2;
    const radius = (size - 40) / 2 - 4;
    canvas.text(fonts.label, cx, header + 2, panel.title, 'center');
    if (panel.subtitle) canvas.text(fonts.tick, cx, header + 20, panel.subtitle, 'center');
    const rows = unitRows(panel.features, spec.dim);
    // Screen axes: right and up. 2-D draws the plane as it is; 3-D turns the best view to face us.
    let right: Vec3 = [1, 0, 0];
    let up: Vec3 = [0, 1, 0];
    let toward: Vec3 = [0, 0, 1];
    if (spec.dim === 3) {
      toward = bestView(classMeans(rows, panel.labels));
      const helper: Vec3 = Math.abs(toward[2]) < 0.9 ? [0, 0, 1] : [1, 0, 0];
      right = unit(cross(helper, toward));
      up = cross(toward, right);
      // Meridians and parallels of the view, faint, for a sense of depth.
      for (let k = 1; k < 6; k++) {
        const h = radius * Math.cos((k * Math.PI) / 6);
        const w = radius * Math.sin((k * Math.PI) / 6);
        canvas.line(cx - w, cy - h, cx + w, cy - h, GRID);
      }
    }
    drawCircle(canvas, cx, cy, radius, OUTLINE);
    if (spec.dim === 2) {
      canvas.line(cx - radius, cy, cx + radius, cy, GRID);
      canvas.line(cx, cy - radius, cx, cy + radius, GRID);
    }
    // Back hemisphere first and faint, front after and solid.
    const order = rows.map((v, i) => [dot(v, toward), i] as const).sort((a, b) => a[0] - b[0]);
    for (const [depth, i] of order) {
      const v = rows[i];
      const x = cx + radius * dot(v, right);
      const y = cy - radius * dot(v, up);
      const colour = IDENTITY_COLOURS[panel.labels[i] % IDENTITY_COLOURS.length];
      const front = spec.dim === 2 || depth >= 0;
      canvas.dot(x, y, front ? 2.5 : 2, colour, front ? 0.6 : 0.15);
    }
  });
  return canvas.png();
}

function drawCircle(canvas: PlotCanvas, cx: number, cy: number, r: number, colour: Rgb8): void {
  const steps = Math.ceil(2 * Math.PI * r);
  for (let s = 0; s < steps; s++) {
    const a0 = (2 * Math.PI * s) / steps;
    const a1 = (2 * Math.PI * (s + 1)) / steps;
    canvas.line(
      cx + r * Math.cos(a0),
      cy - r * Math.sin(a0),
      cx + r * Math.cos(a1),
      cy - r * Math.sin(a1),
      colour,
    );
  }
}

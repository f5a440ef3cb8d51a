// Line plots as PNG: axes with ticks and tick labels, axis titles, a title, light grid lines and
// a legend, drawn on a bitmap with jimp's bundled fonts (no system fonts, no native canvas).
import type { Rgb8 } from './colours';
import { PlotCanvas } from './plot-canvas';
import { plotFonts } from './fonts';
import { linearTicks, logTicks, niceRange, type Tick } from './ticks';

export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  color?: Rgb8;
  dashed?: boolean;
  /** Draw a dot on every point (useful when there are few, e.g. evaluations every k epochs). */
  markers?: boolean;
}

export interface LinePlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  width?: number; // default 640
  height?: number; // default 420
  xScale?: 'linear' | 'log';
  /** Ticks on whole numbers only (e.g. epochs). */
  xInteger?: boolean;
  xRange?: [number, number];
  yRange?: [number, number];
}

export const PALETTE: readonly Rgb8[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
];
const AXIS: Rgb8 = [40, 40, 40];
const GRID: Rgb8 = [228, 228, 228];

function checkSpec(spec: LinePlotSpec): void {
  if (spec.series.length === 0) throw new Error('Expected at least one series to plot');
  for (const s of spec.series) {
    if (s.x.length !== s.y.length) {
      throw new Error(
        `Expected as many x as y values in series '${s.name}' (${s.x.length} vs ${s.y.length})`,
      );
    }
  }
  const w = spec.width ?? 640;
  const h = spec.height ?? 420;
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 200 || h < 150) {
    throw new RangeError(`Expected integer width >= 200 and height >= 150 but received ${w}x${h}`);
  }
}

function finiteExtent(values: number[], fallback: [number, number]): [number, number] {
  const v = values.filter(Number.isFinite);
  return v.length === 0 ? fallback : [Math.min(...v), Math.max(...v)];
}

export async function renderLinePlot(spec: LinePlotSpec): Promise<Buffer> {
  checkSpec(spec);
  const width = spec.width ?? 640;
  const height = spec.height ?? 420;
  const fonts = await plotFonts();
  const log = spec.xScale === 'log';
  const usable = (x: number, y: number) =>
    Number.isFinite(x) && Number.isFinite(y) && (!log || x > 0);

  const xs = spec.series.flatMap((s) => s.x.filter((x, i) => usable(x, s.y[i])));
  const ys = spec.series.flatMap((s) => s.y.filter((y, i) => usable(s.x[i], y)));
  let [x0, x1] = spec.xRange ?? finiteExtent(xs, log ? [1e-3, 1] : [0, 1]);
  if (!spec.xRange) {
    if (log)
      [x0, x1] = [
        Math.pow(10, Math.floor(Math.log10(x0))),
        Math.pow(10, Math.ceil(Math.log10(x1))),
      ];
    else [x0, x1] = niceRange(x0, x1, spec.xInteger);
  }
  if (log && x0 === x1) x1 = x0 * 10;
  const [y0, y1] = spec.yRange ?? niceRange(...finiteExtent(ys, [0, 1]));
  const xTicks: Tick[] = log ? logTicks(x0, x1) : linearTicks(x0, x1, 6, spec.xInteger);
  const yTicks: Tick[] = linearTicks(y0, y1);

  const canvas = new PlotCanvas(width, height);
  const yLabelWidth = Math.max(...yTicks.map((t) => canvas.textWidth(fonts.tick, t.label)));
  const left = 30 + yLabelWidth + 8;
  const right = width - 20;
  const top = 40;
  const bottom = height - 55;
  const px = (x: number) =>
    left +
    ((log ? Math.log10(x) - Math.log10(x0) : x - x0) / (log ? Math.log10(x1 / x0) : x1 - x0)) *
      (right - left);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);

  // Grid and ticks.
  for (const t of xTicks) {
    const x = px(t.value);
    canvas.line(x, top, x, bottom, GRID);
    canvas.line(x, bottom, x, bottom + 5, AXIS);
    canvas.text(fonts.tick, x, bottom + 8, t.label, 'center');
  }
  for (const t of yTicks) {
    const y = py(t.value);
    canvas.line(left, y, right, y, GRID);
    canvas.line(left - 5, y, left, y, AXIS);
    const th = canvas.textHeight(fonts.tick, t.label);
    canvas.text(fonts.tick, left - 8, y - th / 2, t.label, 'right');
  }
  canvas.strokeRect(left, top, right - left, bottom - top, AXIS);

  // Series, clipped to the plot area by skipping segments with an end outside it.
  spec.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    let prev: [number, number] | undefined;
    for (let i = 0; i < s.x.length; i++) {
      if (!usable(s.x[i], s.y[i])) {
        prev = undefined;
        continue;
      }
      const p: [number, number] = [
        Math.min(right, Math.max(left, px(s.x[i]))),
        Math.min(bottom, Math.max(top, py(s.y[i]))),
      ];
      if (prev) canvas.line(prev[0], prev[1], p[0], p[1], color, 2, s.dashed ? [6, 4] : undefined);
      if (s.markers) canvas.fillRect(p[0] - 2, p[1] - 2, 5, 5, color);
      prev = p;
    }
  });

  // Titles.
  canvas.text(fonts.title, width / 2, 10, spec.title, 'center');
  canvas.text(fonts.label, (left + right) / 2, bottom + 28, spec.xLabel, 'center');
  canvas.verticalText(fonts.label, 14, (top + bottom) / 2, spec.yLabel);

  // Legend in the plot corner holding the fewest data points.
  const rows = spec.series.map((s) => s.name);
  const rowH = 18;
  const legendW = Math.max(...rows.map((r) => canvas.textWidth(fonts.tick, r))) + 44;
  const legendH = rows.length * rowH + 8;
  const corners: [number, number][] = [
    [right - legendW - 8, top + 8],
    [right - legendW - 8, bottom - legendH - 8],
    [left + 8, top + 8],
    [left + 8, bottom - legendH - 8],
  ];
  // Where the drawn lines pass, sampled every few pixels along each segment (vertices alone
  // miss a long segment crossing a corner).
  const drawn: [number, number][] = [];
  for (const series of spec.series) {
    let prev: [number, number] | undefined;
    for (let i = 0; i < series.x.length; i++) {
      if (!usable(series.x[i], series.y[i])) {
        prev = undefined;
        continue;
      }
      const p: [number, number] = [px(series.x[i]), py(series.y[i])];
      const steps = prev
        ? Math.max(1, Math.ceil(Math.hypot(p[0] - prev[0], p[1] - prev[1]) / 4))
        : 0;
      for (let k = 0; k <= steps; k++) {
        const from = prev ?? p;
        drawn.push([
          from[0] + ((p[0] - from[0]) * k) / Math.max(1, steps),
          from[1] + ((p[1] - from[1]) * k) / Math.max(1, steps),
        ]);
      }
      prev = p;
    }
  }
  const inside = ([cx, cy]: [number, number]) =>
    drawn.filter(
      ([X, Y]) => X >= cx - 4 && X <= cx + legendW + 4 && Y >= cy - 4 && Y <= cy + legendH + 4,
    ).length;
  const [lx, ly] = corners.reduce((best, c) => (inside(c) < inside(best) ? c : best));
  canvas.fillRect(lx, ly, legendW, legendH, [255, 255, 255]);
  canvas.strokeRect(lx, ly, legendW, legendH, [160, 160, 160]);
  spec.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length];
    const cy = ly + 4 + k * rowH + rowH / 2;
    canvas.line(lx + 8, cy, lx + 32, cy, color, 2, s.dashed ? [6, 4] : undefined);
    if (s.markers) canvas.fillRect(lx + 18, cy - 2, 5, 5, color);
    canvas.text(fonts.tick, lx + 38, cy - canvas.textHeight(fonts.tick, s.name) / 2, s.name);
  });
  return canvas.png();
}

// Bar charts as PNG, one or more panels side by side sharing their bar labels: a value per bar
// with an optional ± error bar, for comparing a handful of settings (the margin ablation).
import type { Rgb8 } from './colours';
import { PlotCanvas } from './plot-canvas';
import { plotFonts } from './fonts';
import { linearTicks, niceRange } from './ticks';

export interface BarPanel {
  title: string;
  yLabel: string;
  /** One per bar label; undefined draws "n/a" (e.g. a run that diverged). */
  values: readonly (number | undefined)[];
  /** Half-lengths of the error bars (e.g. a std), or none. */
  errors?: readonly (number | undefined)[];
}

export interface BarPlotSpec {
  title: string;
  labels: readonly string[];
  panels: readonly BarPanel[];
  colors?: readonly Rgb8[];
  panelWidth?: number; // default 460
  height?: number; // default 400
}

const AXIS: Rgb8 = [40, 40, 40];
const GRID: Rgb8 = [228, 228, 228];
const BAR: Rgb8 = [31, 119, 180];

export async function renderBarPlot(spec: BarPlotSpec): Promise<Buffer> {
  const panelWidth = spec.panelWidth ?? 460;
  const height = spec.height ?? 400;
  if (spec.labels.length === 0 || spec.panels.length === 0) {
    throw new Error('Expected at least one bar label and one panel');
  }
  for (const panel of spec.panels) {
    if (panel.values.length !== spec.labels.length) {
      throw new Error(
        `Expected ${spec.labels.length} values in panel '${panel.title}' but received ${panel.values.length}`,
      );
    }
  }
  const fonts = await plotFonts();
  const canvas = new PlotCanvas(panelWidth * spec.panels.length, height);
  canvas.text(fonts.title, canvas.width / 2, 8, spec.title, 'center');
  spec.panels.forEach((panel, p) => {
    const ends = panel.values.flatMap((v, i) => {
      if (v === undefined || !Number.isFinite(v)) return [];
      const e = panel.errors?.[i] ?? 0;
      return [v - e, v + e];
    });
    const [y0, y1] = ends.length ? niceRange(Math.min(...ends), Math.max(...ends)) : [0, 1];
    const ticks = linearTicks(y0, y1);
    const yLabelWidth = Math.max(...ticks.map((t) => canvas.textWidth(fonts.tick, t.label)));
    const left = p * panelWidth + 30 + yLabelWidth + 8;
    const right = (p + 1) * panelWidth - 15;
    const top = 60;
    const bottom = height - 60;
    const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
    for (const t of ticks) {
      const y = py(t.value);
      canvas.line(left, y, right, y, GRID);
      canvas.line(left - 5, y, left, y, AXIS);
      const th = canvas.textHeight(fonts.tick, t.label);
      canvas.text(fonts.tick, left - 8, y - th / 2, t.label, 'right');
    }
    canvas.strokeRect(left, top, right - left, bottom - top, AXIS);
    canvas.text(fonts.label, (left + right) / 2, 36, panel.title, 'center');
    canvas.verticalText(fonts.label, p * panelWidth + 14, (top + bottom) / 2, panel.yLabel);

    // Bars rise from the axis's lower end: the values differ in their last digits, which a
    // baseline at zero would hide.
    const slot = (right - left) / spec.labels.length;
    // Labels alternate between two rows when any would collide with its neighbours.
    const crowded = spec.labels.some((label) => canvas.textWidth(fonts.tick, label) > slot - 4);
    spec.labels.forEach((label, i) => {
      const cx = left + slot * (i + 0.5);
      const value = panel.values[i];
      const color = spec.colors?.[i % spec.colors.length] ?? BAR;
      if (value === undefined || !Number.isFinite(value)) {
        canvas.text(fonts.tick, cx, bottom - 20, 'n/a', 'center');
      } else {
        const w = slot * 0.6;
        canvas.fillRect(cx - w / 2, py(value), w, bottom - py(value), color);
        const e = panel.errors?.[i];
        if (e !== undefined && e > 0) {
          const [hi, lo] = [py(value + e), py(value - e)];
          canvas.line(cx, hi, cx, lo, AXIS, 2);
          canvas.line(cx - w / 4, hi, cx + w / 4, hi, AXIS, 2);
          canvas.line(cx - w / 4, lo, cx + w / 4, lo, AXIS, 2);
        }
      }
      const row = crowded && i % 2 === 1 ? 1 : 0;
      canvas.text(fonts.tick, cx, bottom + 8 + row * 16, label, 'center');
    });
  });
  return canvas.png();
}

// The standard plots of a run: loss by epoch, accuracy by epoch, and ROC curves.
import type { RocPoint } from '../eval/roc';
import { renderLinePlot, type Series } from './line-plot';

/** One row per epoch; any field may be missing (e.g. test accuracy only every few epochs). */
export interface EpochMetrics {
  /** Epochs completed; fractional for a point within an epoch (an evaluation by iterations). */
  epoch: number;
  /** The training step the row was taken at. */
  iteration?: number;
  trainLoss?: number;
  testLoss?: number;
  trainAccuracy?: number;
  /** Verification accuracy on held-out pairs (the LFW protocol). */
  testAccuracy?: number;
}

function series(
  epochs: readonly EpochMetrics[],
  name: string,
  pick: (e: EpochMetrics) => number | undefined,
  extra: Partial<Series> = {},
): Series | undefined {
  const rows = epochs.filter((e) => Number.isFinite(pick(e)));
  if (rows.length === 0) return undefined;
  return { name, x: rows.map((e) => e.epoch), y: rows.map((e) => pick(e) as number), ...extra };
}

function present(list: (Series | undefined)[]): Series[] {
  return list.filter((s): s is Series => s !== undefined);
}

export function renderLossPlot(epochs: readonly EpochMetrics[]): Promise<Buffer> {
  const s = present([
    series(epochs, 'training loss', (e) => e.trainLoss),
    series(epochs, 'held-out loss', (e) => e.testLoss, { dashed: true }),
  ]);
  if (s.length === 0)
    return Promise.reject(new Error('Expected epochs with trainLoss or testLoss to plot'));
  return renderLinePlot({
    title: 'Loss by epoch',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: s,
    xInteger: true,
  });
}

export function renderAccuracyPlot(epochs: readonly EpochMetrics[]): Promise<Buffer> {
  const s = present([
    series(epochs, 'training accuracy (classification)', (e) => e.trainAccuracy),
    series(epochs, 'held-out verification accuracy', (e) => e.testAccuracy, { markers: true }),
  ]);
  if (s.length === 0) {
    return Promise.reject(new Error('Expected epochs with trainAccuracy or testAccuracy to plot'));
  }
  return renderLinePlot({
    title: 'Accuracy by epoch',
    xLabel: 'epoch',
    yLabel: 'accuracy',
    series: s,
    xInteger: true,
  });
}

export interface RocCurve {
  name: string;
  points: readonly RocPoint[];
}

/**
 * TAR against FAR for one or more curves. With `logFar`, FAR runs from the decade below the
 * smallest non-zero FAR (at least 1e-4) to 1; points at FAR 0 cannot be placed and are dropped.
 */
export function renderRocPlot(
  curves: readonly RocCurve[],
  options: { logFar?: boolean } = {},
): Promise<Buffer> {
  const log = options.logFar ?? false;
  let minFar = 1;
  for (const c of curves) for (const p of c.points) if (p.far > 0) minFar = Math.min(minFar, p.far);
  const lowest = Math.max(1e-4, Math.pow(10, Math.floor(Math.log10(minFar))));
  const s: Series[] = curves.map((c) => {
    const pts = log ? c.points.filter((p) => p.far >= lowest) : c.points;
    return { name: c.name, x: pts.map((p) => p.far), y: pts.map((p) => p.tar) };
  });
  if (!log) s.push({ name: 'chance', x: [0, 1], y: [0, 1], color: [150, 150, 150], dashed: true });
  return renderLinePlot({
    title: log ? 'ROC (log FAR)' : 'ROC',
    xLabel: log ? 'false accept rate (log scale)' : 'false accept rate',
    yLabel: 'true accept rate',
    series: s,
    xScale: log ? 'log' : 'linear',
    xRange: log ? [lowest, 1] : [0, 1],
    yRange: [0, 1],
  });
}

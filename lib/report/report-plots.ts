// Plots drawn on a worker thread (report-plot-worker.ts): jimp draws and encodes PNGs in
// JavaScript, a few hundred milliseconds a plot that must not hold the event loop.
import * as path from 'node:path';
import { runOnOwnWorker } from '../util/worker-pool';
import type { BarPlotSpec } from './bar-plot';
import type { FeaturePlotSpec } from './feature-plot';
import type { EpochMetrics, RocCurve } from './training-plots';

// The drawing itself (jimp: about 100 ms to load) stays off the importing thread.
export type ReportPlot =
  | { kind: 'loss' | 'accuracy'; epochs: readonly EpochMetrics[] }
  | { kind: 'roc'; curves: readonly RocCurve[]; logFar: boolean }
  | { kind: 'bar'; spec: BarPlotSpec }
  | { kind: 'feature'; spec: FeaturePlotSpec };

/** The plots' PNGs, in order, drawn on a worker thread of their own. */
export async function renderReportPlots(plots: readonly ReportPlot[]): Promise<Uint8Array[]> {
  return runOnOwnWorker(path.join(__dirname, 'report-plot-worker.js'), plots, {
    name: 'writeReport',
  });
}

/** One plot's PNG, drawn on a worker thread of its own. */
export async function renderPlot(plot: ReportPlot): Promise<Uint8Array> {
  const [png] = await renderReportPlots([plot]);
  return png;
}

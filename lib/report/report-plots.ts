// A report's plots, drawn on a worker thread (report-plot-worker.ts): jimp draws and encodes
// PNGs in JavaScript, a few hundred milliseconds a report that must not hold the event loop.
import * as path from 'node:path';
import { runOnOwnWorker } from '../util/worker-pool';
import {
  renderAccuracyPlot,
  renderLossPlot,
  renderRocPlot,
  type EpochMetrics,
  type RocCurve,
} from './training-plots';

export type ReportPlot =
  | { kind: 'loss' | 'accuracy'; epochs: readonly EpochMetrics[] }
  | { kind: 'roc'; curves: readonly RocCurve[]; logFar: boolean };

/** One plot's PNG, on the calling thread. */
export function renderReportPlot(plot: ReportPlot): Promise<Buffer> {
  switch (plot.kind) {
    case 'loss':
      return renderLossPlot(plot.epochs);
    case 'accuracy':
      return renderAccuracyPlot(plot.epochs);
    case 'roc':
      return renderRocPlot(plot.curves, { logFar: plot.logFar });
  }
}

/** The plots' PNGs, in order, drawn on a worker thread of their own. */
export async function renderReportPlots(plots: readonly ReportPlot[]): Promise<Uint8Array[]> {
  return runOnOwnWorker(path.join(__dirname, 'report-plot-worker.js'), plots, {
    name: 'writeReport',
  });
}

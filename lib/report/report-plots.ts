// A report's plots, drawn on a worker thread (report-plot-worker.ts): jimp draws and encodes
// PNGs in JavaScript, a few hundred milliseconds a report that must not hold the event loop.
import * as path from 'node:path';
import { WorkerPool } from '../util/worker-pool';
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
  const pngs: Uint8Array[] = new Array(plots.length);
  const pool = new WorkerPool<ReportPlot, Uint8Array>(
    path.join(__dirname, 'report-plot-worker.js'),
    { threads: 1, name: 'writeReport' },
  );
  try {
    await pool.run(plots, (k, png) => (pngs[k] = png));
  } finally {
    await pool.close();
  }
  return pngs;
}

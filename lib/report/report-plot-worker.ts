// The worker thread a report's plots are drawn on (report-plots.ts).
import { serveTasks } from '../util/worker-pool';
import type { ReportPlot } from './report-plots';
import { renderAccuracyPlot, renderLossPlot, renderRocPlot } from './training-plots';

/** One plot's PNG. */
function renderReportPlot(plot: ReportPlot): Promise<Buffer> {
  switch (plot.kind) {
    case 'loss':
      return renderLossPlot(plot.epochs);
    case 'accuracy':
      return renderAccuracyPlot(plot.epochs);
    case 'roc':
      return renderRocPlot(plot.curves, { logFar: plot.logFar });
  }
}

serveTasks<ReportPlot, Uint8Array>(async (plot) => ({ result: await renderReportPlot(plot) }));

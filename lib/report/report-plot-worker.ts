// The worker thread plots are drawn on (report-plots.ts).
import { serveTasks } from '../util/worker-pool';
import { renderBarPlot } from './bar-plot';
import { renderFeaturePlot } from './feature-plot';
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
    case 'bar':
      return renderBarPlot(plot.spec);
    case 'feature':
      return renderFeaturePlot(plot.spec);
  }
}

serveTasks<ReportPlot, Uint8Array>(async (plot) => ({ result: await renderReportPlot(plot) }));

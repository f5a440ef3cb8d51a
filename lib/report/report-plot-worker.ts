// The worker thread a report's plots are drawn on (report-plots.ts).
import { serveTasks } from '../util/worker-pool';
import { renderReportPlot, type ReportPlot } from './report-plots';

serveTasks<ReportPlot, Uint8Array>(async (plot) => ({ result: await renderReportPlot(plot) }));

// A run's report in its out dir: summary.json, plots/*.png and report.md linking them (the
// trainer writes metrics.jsonl itself; the report links it when present). Every file is written
// atomically, report.md last, so a report.md on disk never links a missing plot; an earlier
// report's plots that this one does not draw are removed.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { describeAfs } from '../eval/angular-fisher-score';
import { expectEvaluation } from '../eval/expect-evaluation';
import { evaluationSummary, type LfwEvaluation } from '../eval/lfw-evaluator';
import { epochRows, type EpochFigures } from './epoch-rows';
import { renderReportPlots, type ReportPlot } from './report-plots';
import type { EpochMetrics, RocCurve } from './training-plots';
import { writeFileAtomic } from '../util/atomic-write';
import { expectPath } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { whyUnwritable } from '../util/make-folder';

export interface ReportInput {
  title?: string;
  /** Anything the caller wants in summary.json (config, timings, final figures). */
  summary: Record<string, unknown>;
  /** Per-epoch figures for the loss and accuracy plots and the epoch table. */
  epochs?: readonly EpochMetrics[];
  /** Or the Trainer's records (`await trainer.fit()`, or its epochs and evals), as rows. */
  history?: {
    epochs: readonly EpochFigures[];
    evals: readonly { epoch: number; iteration: number; result: { accuracy: number } }[];
  };
  /** With `history`: places an evaluation between epoch ends (default: from the records). */
  batchesPerEpoch?: number;
  /** The model's final verification evaluation: ROC plots, headline figures, protocol. */
  evaluation?: LfwEvaluation;
  /** The same protocol on raw pixels (rawPixelEmbedder), drawn as a second ROC curve. */
  baseline?: LfwEvaluation;
  /** Lines on what the figures leave out (pairs skipped for bad images), under the figures. */
  notes?: readonly string[];
}

const REPORT_INPUT_KEYS: OptionKeys<ReportInput> = {
  title: true,
  summary: true,
  epochs: true,
  history: true,
  batchesPerEpoch: true,
  evaluation: true,
  baseline: true,
  notes: true,
};

export interface WrittenReport {
  report: string;
  summary: string;
  plots: string[];
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function figuresTable(rows: [string, LfwEvaluation][]): string[] {
  const far = rows[0][1].roc.tarAtFar.map((t) => t.far);
  const head = [
    '',
    'accuracy ± std',
    'threshold',
    'AUC',
    'EER',
    ...far.map((f) => `TAR @ FAR ${f}`),
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const [name, e] of rows) {
    const cells = [
      name,
      `${pct(e.accuracy)} ± ${pct(e.std)}`,
      e.threshold.toFixed(4),
      e.roc.auc.toFixed(4),
      pct(e.roc.eer),
      ...e.roc.tarAtFar.map((t) => pct(t.tar)),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

function epochTable(epochs: readonly EpochMetrics[]): string[] {
  const fmt = (v: number | undefined, digits: number) =>
    Number.isFinite(v) ? (v as number).toFixed(digits) : '';
  // An Iteration column when the rows say where they were taken.
  const iterations = epochs.some((e) => e.iteration !== undefined);
  const head = ['Epoch', ...(iterations ? ['Iteration'] : []), 'Loss', 'Train acc.', 'Test acc.'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const e of epochs) {
    const cells = [
      Number.isInteger(e.epoch) ? String(e.epoch) : e.epoch.toFixed(2),
      ...(iterations ? [e.iteration === undefined ? '' : String(e.iteration)] : []),
      fmt(e.trainLoss, 3),
      fmt(e.trainAccuracy, 4),
      fmt(e.testAccuracy, 4),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

// The files writeReport may write: in the folder, and in its plots/.
const SUMMARY = 'summary.json';
const REPORT = 'report.md';
const PLOTS = { loss: 'loss.png', accuracy: 'accuracy.png', roc: 'roc.png', rocLog: 'roc-log.png' };

/**
 * Throws, naming the path, when writeReport could not write into `outDir`: it or its plots/ is a
 * file, or a folder stands where a report file goes. Commands call it before their work.
 */
export async function checkReportFolder(outDir: string): Promise<void> {
  expectPath(outDir, 'outDir', 'a folder path');
  const plotsDir = path.join(outDir, 'plots');
  for (const dir of [outDir, plotsDir]) {
    if ((await fs.stat(dir).catch(() => undefined))?.isDirectory() === false) {
      throw new Error(`${dir} is a file, not a folder`);
    }
  }
  const why = await whyUnwritable(outDir);
  if (why) throw new Error(`${outDir}: ${why}`);
  const files = [
    ...[SUMMARY, REPORT].map((f) => path.join(outDir, f)),
    ...Object.values(PLOTS).map((f) => path.join(plotsDir, f)),
  ];
  for (const file of files) {
    if ((await fs.stat(file).catch(() => undefined))?.isDirectory() === true) {
      throw new Error(`${file} is a directory; the report writes a file there`);
    }
  }
}

const FIGURES = ['trainLoss', 'testLoss', 'trainAccuracy', 'testAccuracy'] as const;

/** The rows of `epochs`, or those of `history`; refuses rows the plots and table cannot read. */
function reportRows(input: ReportInput): readonly EpochMetrics[] {
  if (input.epochs && input.history) {
    throw new TypeError('writeReport: give epochs or history, not both');
  }
  if (input.history) {
    const { epochs, evals } = input.history;
    if (!Array.isArray(epochs) || !Array.isArray(evals)) {
      throw new TypeError('writeReport: expected { epochs, evals } arrays for history');
    }
    const accuracies = evals.map((e) => ({ ...e, accuracy: e.result.accuracy }));
    return epochRows({ epochs, evals: accuracies }, input.batchesPerEpoch);
  }
  const rows = input.epochs ?? [];
  for (const [i, row] of rows.entries()) {
    if (!Number.isFinite(row?.epoch) || !FIGURES.some((name) => name in row)) {
      throw new TypeError(
        `writeReport: epochs[${i}] is not a report row: it needs a finite epoch and one of ` +
          `${FIGURES.join(', ')}; pass the Trainer's records (loss, accuracy) as history`,
      );
    }
  }
  return rows;
}

const FIGURE_WORDS: Record<(typeof FIGURES)[number], string> = {
  trainLoss: 'The training loss',
  testLoss: 'The held-out loss',
  trainAccuracy: 'The training accuracy',
  testAccuracy: 'The held-out accuracy',
};

/** Notes naming the figures given that are not finite numbers: blank cells, gaps in the plots. */
function unplottedFigures(epochs: readonly EpochMetrics[]): string[] {
  const notes: string[] = [];
  for (const name of FIGURES) {
    const at = epochs.filter((e) => e[name] !== undefined && !Number.isFinite(e[name]));
    if (at.length === 0) continue;
    const where = at.map((e) => e.epoch).join(', ');
    notes.push(
      `${FIGURE_WORDS[name]} is not a finite number at epoch${at.length > 1 ? 's' : ''} ` +
        `${where} (${at.map((e) => String(e[name])).join(', ')}): blank in the table, not plotted`,
    );
  }
  return notes;
}

/** summary.json's text: the caller's summary, with the evaluations' figures unless it has its own. */
function summaryJson(input: ReportInput): string {
  const summary: Record<string, unknown> = { ...input.summary };
  if (input.evaluation && !('evaluation' in summary))
    summary.evaluation = evaluationSummary(input.evaluation);
  if (input.baseline && !('baseline' in summary))
    summary.baseline = evaluationSummary(input.baseline);
  try {
    return JSON.stringify(summary, null, 2) + '\n';
  } catch (error) {
    throw new TypeError(`summary cannot be written as JSON: ${(error as Error).message}`);
  }
}

export async function writeReport(outDir: string, input: ReportInput): Promise<WrittenReport> {
  expectPath(outDir, 'outDir', 'a folder path');
  expectOptions(input, 'input', REPORT_INPUT_KEYS, 'a report input object ({ summary, ... })');
  if (typeof input.summary !== 'object' || input.summary === null) {
    throw new Error('Expected an object for summary');
  }
  if (input.evaluation !== undefined) expectEvaluation(input.evaluation, 'evaluation');
  if (input.baseline !== undefined) expectEvaluation(input.baseline, 'baseline');
  const summaryText = summaryJson(input); // before anything is written: it may not serialise
  await checkReportFolder(outDir);
  const plotsDir = path.join(outDir, 'plots');
  await fs.mkdir(plotsDir, { recursive: true });
  const wanted: { name: string; caption: string; plot: ReportPlot }[] = [];
  const epochs = reportRows(input);
  if (epochs.some((e) => Number.isFinite(e.trainLoss) || Number.isFinite(e.testLoss))) {
    wanted.push({ name: PLOTS.loss, caption: 'Loss by epoch', plot: { kind: 'loss', epochs } });
  }
  if (epochs.some((e) => Number.isFinite(e.trainAccuracy) || Number.isFinite(e.testAccuracy))) {
    const plot = { kind: 'accuracy', epochs } as const;
    wanted.push({ name: PLOTS.accuracy, caption: 'Accuracy by epoch', plot });
  }
  if (input.evaluation) {
    const curves: RocCurve[] = [{ name: 'model', points: input.evaluation.rocPoints }];
    if (input.baseline) curves.push({ name: 'raw pixels', points: input.baseline.rocPoints });
    wanted.push({ name: PLOTS.roc, caption: 'ROC', plot: { kind: 'roc', curves, logFar: false } });
    const plot = { kind: 'roc', curves, logFar: true } as const;
    wanted.push({ name: PLOTS.rocLog, caption: 'ROC, log FAR axis', plot });
  }
  const pngs = await renderReportPlots(wanted.map((w) => w.plot));
  const plots: { file: string; caption: string }[] = [];
  for (const [k, { name, caption }] of wanted.entries()) {
    const file = path.join(plotsDir, name);
    await writeFileAtomic(file, pngs[k]);
    plots.push({ file, caption });
  }
  // An earlier report's plots this one does not draw would sit beside it as if its own.
  const drawn = new Set(plots.map((p) => path.basename(p.file)));
  for (const name of Object.values(PLOTS)) {
    if (!drawn.has(name)) await fs.rm(path.join(plotsDir, name), { force: true });
  }

  const summaryFile = path.join(outDir, SUMMARY);
  await writeFileAtomic(summaryFile, summaryText);

  const md: string[] = [`# ${input.title ?? 'sphereface run'}`, ''];
  if (input.evaluation) {
    const rows: [string, LfwEvaluation][] = [['model', input.evaluation]];
    if (input.baseline) rows.push(['raw pixels', input.baseline]);
    md.push('## Verification', '', ...figuresTable(rows), '');
    md.push(
      `Protocol: ${input.evaluation.protocol.description} ` +
        `${input.evaluation.pairs} pairs (${input.evaluation.roc.samePairs} same, ` +
        `${input.evaluation.roc.differentPairs} different), ${input.evaluation.images} images.`,
      '',
    );
    if (
      input.baseline &&
      input.baseline.protocol.description !== input.evaluation.protocol.description
    ) {
      md.push(`Raw-pixel protocol: ${input.baseline.protocol.description}`, '');
    }
    const negatives = input.evaluation.roc.differentPairs;
    for (const t of input.evaluation.roc.tarAtFar) {
      if (t.far * negatives < 1) {
        md.push(
          `TAR @ FAR ${t.far} is the TAR at FAR 0: with ${negatives} different pairs one false accept is already FAR ${(1 / negatives).toPrecision(2)}.`,
          '',
        );
      }
    }
    if (input.evaluation.angularFisherScore) {
      md.push(`Angular Fisher score: ${describeAfs(input.evaluation.angularFisherScore)}`, '');
    }
  }
  for (const note of [...(input.notes ?? []), ...unplottedFigures(epochs)]) {
    md.push(`Note: ${note}.`, '');
  }
  if (epochs.length > 0) md.push('## Training', '', ...epochTable(epochs), '');
  if (plots.length > 0) {
    md.push('## Plots', '');
    for (const p of plots) md.push(`![${p.caption}](plots/${path.basename(p.file)})`, '');
  }
  const files = [`[${SUMMARY}](${SUMMARY})`];
  if (await exists(path.join(outDir, 'metrics.jsonl')))
    files.push('[metrics.jsonl](metrics.jsonl)');
  md.push('## Files', '', ...files.map((f) => `- ${f}`), '');
  const reportFile = path.join(outDir, REPORT);
  await writeFileAtomic(reportFile, md.join('\n'));
  return { report: reportFile, summary: summaryFile, plots: plots.map((p) => p.file) };
}

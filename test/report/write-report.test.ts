import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ImageSet, VerificationPair } from '../../lib/data/types';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import { evaluationSummary, LfwEvaluator } from '../../lib/eval/lfw-evaluator';
import * as trainingPlots from '../../lib/report/training-plots';
import type { EpochMetrics } from '../../lib/report/training-plots';
import { writeReport } from '../../lib/report/write-report';
import { seededUniform, rejection } from '../eval/helpers';

describe('writeReport', () => {
  it('writes summary.json, the plots and a report.md that links only files that exist', async () => {
    const rand = seededUniform(4);
    const n = 40;
    const set: ImageSet = {
      images: Uint8Array.from(
        { length: n * 4 * 4 * 3 },
        (_, i) => ((Math.floor(i / 48) % 4) * 60 + rand() * 60) | 0,
      ),
      n,
      height: 4,
      width: 4,
    };
    const pairs: VerificationPair[] = Array.from({ length: 100 }, (_, i) => {
      const a = i % n;
      const b = (a + (i % 2 === 0 ? 4 : 1)) % n; // +4 keeps a % 4, the "identity"
      return { a, b, same: i % 2 === 0, fold: Math.floor(i / 10), line: i + 2 };
    });
    const evaluation = await new LfwEvaluator(set, pairs).evaluate(rawPixelEmbedder(4, 4));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"epoch":1}\n');
    const epochs = [1, 2, 3].map((e) => ({
      epoch: e,
      trainLoss: 5 - e,
      trainAccuracy: e / 4,
      testAccuracy: e / 5,
    }));
    const out = await writeReport(dir, {
      title: 'Test run',
      summary: { seed: 3 },
      epochs,
      evaluation,
      baseline: evaluation,
    });

    expect(out.plots.map((p) => path.basename(p))).to.deep.equal([
      'loss.png',
      'accuracy.png',
      'roc.png',
      'roc-log.png',
    ]);
    const summary = JSON.parse(fs.readFileSync(out.summary, 'utf8'));
    expect(summary.seed).to.equal(3);
    expect(summary.evaluation.accuracy).to.equal(evaluation.accuracy);
    expect(summary.evaluation.protocol.description).to.equal(evaluation.protocol.description);
    const md = fs.readFileSync(out.report, 'utf8');
    expect(md).to.contain('# Test run');
    expect(md).to.contain(evaluation.protocol.description);
    expect(md).to.contain(`${(100 * evaluation.accuracy).toFixed(2)}%`);
    const links = [...md.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links).to.include.members([
      'plots/loss.png',
      'plots/roc.png',
      'summary.json',
      'metrics.jsonl',
    ]);
    for (const l of links) expect(fs.existsSync(path.join(dir, l)), l).to.equal(true);
    // No temporary files left behind.
    const all = [...fs.readdirSync(dir), ...fs.readdirSync(path.join(dir, 'plots'))];
    expect(all.filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it("takes the Trainer's records as history, and refuses them as epochs, naming the row", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const record = (epoch: number, loss: number) => ({
      ...{ epoch, iteration: 10 * epoch, loss, accuracy: 0.1 * epoch, images: 80 },
      ...{ seconds: 1, imagesPerSecond: 80, lr: 0.1 },
    });
    const epochs = [record(1, 4), record(2, 3)];
    const evals = [{ epoch: 1, iteration: 15, seconds: 1, result: { accuracy: 0.7 } }];
    const out = await writeReport(dir, { summary: {}, history: { epochs, evals } });
    expect(out.plots.map((p) => path.basename(p))).to.deep.equal(['loss.png', 'accuracy.png']);
    // The table: epoch 1, the evaluation at iteration 15 (1.5 epochs of 10 steps), epoch 2.
    const table = fs
      .readFileSync(out.report, 'utf8')
      .split('\n')
      .filter((line) => /^\| \d/.test(line));
    expect(table).to.deep.equal([
      '| 1 | 10 | 4.000 | 0.1000 |  |',
      '| 1.50 | 15 |  |  | 0.7000 |',
      '| 2 | 20 | 3.000 | 0.2000 |  |',
    ]);
    const err = await rejection(
      writeReport(dir, { summary: {}, epochs: epochs as unknown as EpochMetrics[] }),
    );
    expect(err.message).to.match(/^writeReport: epochs\[0\] is not a report row: .* as history$/);
  });

  it('refuses an evaluation of another shape before writing, naming what it lacks', async () => {
    const set: ImageSet = {
      images: Uint8Array.from({ length: 8 * 4 * 4 * 3 }, (_, i) => (i * 37) % 251),
      n: 8,
      height: 4,
      width: 4,
    };
    const pairs = [0, 1, 2, 3].map((i) => ({
      a: i,
      b: i + 4,
      same: i % 2 === 0,
      fold: i % 2,
      line: i + 1,
    }));
    const evaluation = await new LfwEvaluator(set, pairs).evaluate(rawPixelEmbedder(4, 4));
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'report-')), 'out');
    const what = 'Expected an LfwEvaluation (what LfwEvaluator.evaluate resolves to) for';
    // A summary read back from summary.json: this plotted nothing and never settled.
    const summary = evaluationSummary(evaluation);
    const err = await rejection(writeReport(dir, { summary: {}, evaluation: summary as never }));
    expect(err.message).to.equal(
      `${what} evaluation, but it has no roc (evaluationSummary's form has none)`,
    );
    const noPoints = { ...evaluation, rocPoints: [] };
    expect(
      (await rejection(writeReport(dir, { summary: {}, baseline: noPoints }))).message,
    ).to.equal(`${what} baseline, but its rocPoints is an empty array`);
    // A rate that is not one would vanish from the ROC plot without a word.
    const rocPoints = evaluation.rocPoints.map((p, i) => (i === 2 ? { ...p, tar: NaN } : p));
    expect(
      (await rejection(writeReport(dir, { summary: {}, evaluation: { ...evaluation, rocPoints } })))
        .message,
    ).to.equal(
      `${what} evaluation, but its rocPoints[2] is not a pair of rates in [0, 1] ` +
        `(far ${evaluation.rocPoints[2].far}, tar NaN)`,
    );
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect((await rejection(writeReport(dir, { summary: circular }))).message).to.match(
      /^summary cannot be written as JSON: Converting circular structure to JSON/,
    );
    expect(fs.existsSync(dir), 'nothing written').to.equal(false);
    expect(() => evaluationSummary({} as never)).to.throw(
      `${what} evaluation, but its accuracy is a value of type undefined`,
    );
  });

  it('notes the figures that are not finite, which the table leaves blank and the plots out', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const epochs = [
      { epoch: 1, trainLoss: 4.2, trainAccuracy: 0.1 },
      { epoch: 2, trainLoss: NaN, trainAccuracy: 0.2 },
      { epoch: 3, trainLoss: Infinity, trainAccuracy: 0.2 },
    ];
    const out = await writeReport(dir, { summary: {}, epochs, notes: ['caller note'] });
    const notes = fs
      .readFileSync(out.report, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('Note: '));
    expect(notes).to.deep.equal([
      'Note: caller note.',
      'Note: The training loss is not a finite number at epochs 2, 3 (NaN, Infinity): ' +
        'blank in the table, not plotted.',
    ]);
    // All losses diverged: no loss plot, and the note says why.
    const diverged = epochs.map((e) => ({ ...e, trainLoss: NaN }));
    const again = await writeReport(dir, { summary: {}, epochs: diverged });
    expect(again.plots.map((p) => path.basename(p))).to.deep.equal(['accuracy.png']);
    expect(fs.readFileSync(again.report, 'utf8')).to.contain(
      'Note: The training loss is not a finite number at epochs 1, 2, 3 (NaN, NaN, NaN)',
    );
  });

  it('names the path when the out dir cannot be written', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'report-')), 'file');
    fs.writeFileSync(file, 'x');
    const err = await rejection(writeReport(path.join(file, 'sub'), { summary: {} }));
    expect(err.message).to.contain(file);
  });

  it('refuses, before writing anything, a folder standing where a report file goes', async () => {
    for (const blocked of ['report.md', path.join('plots', 'roc.png')]) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
      const folder = path.join(dir, blocked);
      fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(path.join(folder, 'work.txt'), 'keep me');
      const before = fs.readdirSync(dir).sort();
      const err = await rejection(writeReport(dir, { summary: { seed: 3 } }));
      expect(err.message).to.equal(`${folder} is a directory; the report writes a file there`);
      expect(fs.readdirSync(dir).sort(), 'no summary.json, nothing else').to.deep.equal(before);
      expect(fs.readFileSync(path.join(folder, 'work.txt'), 'utf8')).to.equal('keep me');
    }
  });

  it('draws the plots on a worker thread, never on the event loop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const epochs = [{ epoch: 1, trainLoss: 2, trainAccuracy: 0.5 }];
    // This thread's renderers fail: the plots must come from the worker's own copy.
    const plots = trainingPlots as Record<string, unknown>;
    const saved = { loss: plots.renderLossPlot, accuracy: plots.renderAccuracyPlot };
    const onMainThread = () => Promise.reject(new Error('drawn on the main thread'));
    plots.renderLossPlot = plots.renderAccuracyPlot = onMainThread;
    try {
      await writeReport(dir, { summary: {}, epochs });
    } finally {
      plots.renderLossPlot = saved.loss;
      plots.renderAccuracyPlot = saved.accuracy;
    }
    const png = fs.readFileSync(path.join(dir, 'plots', 'loss.png'));
    expect(png.equals(await trainingPlots.renderLossPlot(epochs))).to.equal(true);
  });

  it("removes an earlier report's plots that this one does not draw", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const epochs = [{ epoch: 1, trainLoss: 2, trainAccuracy: 0.5 }];
    fs.mkdirSync(path.join(dir, 'plots'));
    for (const stale of ['roc.png', 'roc-log.png']) {
      fs.writeFileSync(path.join(dir, 'plots', stale), 'an earlier run');
    }
    fs.writeFileSync(path.join(dir, 'plots', 'mine.png'), "not the report's");
    const out = await writeReport(dir, { summary: {}, epochs });
    expect(fs.readdirSync(path.join(dir, 'plots')).sort()).to.deep.equal([
      'accuracy.png',
      'loss.png',
      'mine.png',
    ]);
    expect(fs.readFileSync(out.report, 'utf8')).to.not.contain('roc');
  });

  it('gives the table an Iteration column, and an evaluation within an epoch its own row', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
    const epochs = [
      { epoch: 0.5, iteration: 4, testAccuracy: 0.6 },
      { epoch: 1, iteration: 8, trainLoss: 3.4461, trainAccuracy: 0.25, testAccuracy: 0.65 },
    ];
    const out = await writeReport(dir, { summary: {}, epochs });
    const md = fs.readFileSync(out.report, 'utf8');
    expect(md).to.contain(
      [
        '| Epoch | Iteration | Loss | Train acc. | Test acc. |',
        '|---|---|---|---|---|',
        '| 0.50 | 4 |  |  | 0.6000 |',
        '| 1 | 8 | 3.446 | 0.2500 | 0.6500 |',
      ].join('\n'),
    );
  });
});

import * as path from 'node:path';
import { rawPixelEmbedder } from '../../eval/embedder';
import { describeAfs } from '../../eval/angular-fisher-score';
import { describeHead } from '../../ops/margin-head';
import { writeReport } from '../../report/write-report';
import { integerListArg, stringArg } from '../args';
import { checkOutputFolder } from '../output-paths';
import { UsageError, type Command, type ParsedValues } from '../command';
import { DEMO_SET, demoSetOptions, prepareDemoSet, readDemoSet } from '../demo-set';
import { seedTable, type DemoResult } from '../demo-seeds';
import type { Output } from '../output';
import { formatAccuracy, runRecord, stopLines, stoppedEarly } from '../run-report';
import { readRunConfig } from '../resume-config';
import { trainingOptions, type TrainingConfig, type TrainingDefaults } from '../training-args';
import { checkOutFolder, runTraining } from '../training-run';

/**
 * The demo's training, sized to finish within 10 minutes on 2 CPU cores and chosen over several
 * synthetic populations (the trials are in BENCHMARKS.md). lr 0.05: 0.1 diverged. The paper's
 * lambda decay (gamma 0.12, the floor of 5 after 1.6k iterations): with 300 people the faster
 * 0.5 applied the full margin before the features had formed, and the loss never left ln(300).
 * Weight decay 5e-3 (paper: 5e-4) and random crops from images padded by 4 pixels keep the net
 * from memorising the set's 3000 photos.
 */
export const DEMO = {
  ...DEMO_SET,
  epochs: 25,
  batchSize: 32,
  lr: 0.05,
  warmup: 30,
  evalEvery: 5,
  lambdaGamma: 0.12,
  weightDecay: 5e-3,
  cropPadding: 4,
};

export const DEMO_TRAINING: TrainingDefaults = {
  arch: 'sphere-cnn4',
  epochs: DEMO.epochs,
  batchSize: DEMO.batchSize,
  lr: DEMO.lr,
  schedule: 'cosine',
  warmup: DEMO.warmup,
  evalEvery: DEMO.evalEvery,
  lambdaGamma: DEMO.lambdaGamma,
  weightDecay: DEMO.weightDecay,
  cropPadding: DEMO.cropPadding,
  out: 'sphereface-demo',
  force: true,
};

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'Synthetic identities -> train sphere-cnn4 with A-Softmax (m=4) -> LFW-protocol accuracy and report',
  usage:
    'sphereface demo [--identities N] [--images K] [--held-out-identities N] ' +
    '[--held-out-images K] [--folds F] [--pairs-per-fold P] [--synth-seed S] [--cache DIR] ' +
    '[training options]',
  notes: 'A rerun reuses the generated and decoded set, and starts a new run in --out.',
  options: {
    ...demoSetOptions,
    seeds: {
      type: 'string',
      value: 'S1,S2,..',
      description:
        'run the demo for each of these synthetic populations (into --out/seed-S) and print a table with their mean and spread',
    },
    ...trainingOptions(DEMO_TRAINING),
  },
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const cacheRoot = stringArg(values, 'cache');
    if (cacheRoot !== undefined) await checkOutputFolder('cache', cacheRoot);
    const seeds = integerListArg(values, 'seeds');
    if (seeds === undefined) {
      const config = await readRunConfig(values, DEMO_TRAINING);
      await checkOutFolder(config, 'demo');
      const result = await demoOnce(values, config, out);
      if (!result) return 0;
      out.result(result.summary);
      printResult(result, out);
      return 0;
    }
    if (values['synth-seed'] !== undefined) {
      throw new UsageError('give --seeds or --synth-seed, not both');
    }
    if (new Set(seeds).size !== seeds.length) {
      throw new UsageError(`--seeds lists a seed twice: '${String(values.seeds)}'`);
    }
    // Every seed's settings and folder are checked before the first trains.
    const root = stringArg(values, 'out') ?? DEMO_TRAINING.out;
    const configs: TrainingConfig[] = [];
    for (const seed of seeds) {
      configs.push(await readRunConfig(values, DEMO_TRAINING, path.join(root, `seed-${seed}`)));
      await checkOutFolder(configs.at(-1)!, 'demo');
    }
    const results: DemoResult[] = [];
    for (const [i, seed] of seeds.entries()) {
      out.line(`--- synthetic population ${seed} (${i + 1} of ${seeds.length})`);
      const result = await demoOnce({ ...values, 'synth-seed': String(seed) }, configs[i], out);
      if (!result) return 0; // stopped: the seeds after it are not run
      printResult(result, out);
      results.push(result);
    }
    const table = seedTable(results);
    out.result({ command: 'demo', seeds: table.rows, ...table.overall });
    out.line();
    for (const line of table.lines) out.line(line);
    return 0;
  },
};

/**
 * One demo: generate (or reuse) the population, train, evaluate, write the report. Undefined
 * when the training was stopped before its end.
 */
async function demoOnce(
  values: ParsedValues,
  config: TrainingConfig,
  out: Output,
): Promise<DemoResult | undefined> {
  const started = performance.now();
  const spec = readDemoSet(values);
  const { cache, ...synthOptions } = spec;
  const set = await prepareDemoSet(spec, config.arch, out);
  const evaluator = set.evaluator;
  const raw = await evaluator.evaluate(rawPixelEmbedder(set.heldOut.height, set.heldOut.width), {
    onProgress: out.counter('raw-pixel baseline'),
  });
  out.line(`raw-pixel cosine on the held-out pairs: ${formatAccuracy(raw)}`);
  const head = describeHead(config.head);
  out.line(`training ${config.arch} with ${head}:`);
  const run = await runTraining({
    config,
    train: set.train,
    classes: set.classes,
    evaluator,
    out,
  }).finally(() => set.train.close());
  try {
    const final = run.history.evals.at(-1)?.result;
    const seconds = (performance.now() - started) / 1000;
    const record = await runRecord(config.out, run);
    const summary = {
      command: 'demo',
      accuracy: final?.accuracy,
      std: final?.std,
      angularFisherScore: final?.angularFisherScore,
      rawPixelAccuracy: raw.accuracy,
      rawPixelStd: raw.std,
      seconds,
      trainingSeconds: run.seconds,
      synth: { dir: cache, ...synthOptions, reused: set.reused, seconds: set.synthSeconds },
      config,
      ...record.summary,
    };
    const report = await writeReport(config.out, {
      title: `sphereface demo: ${config.arch}, ${head}, synthetic identities`,
      summary,
      epochs: record.rows,
      evaluation: final,
      baseline: raw,
    });
    const stopped = stopLines(run, 'demo');
    // Stopped before its end (Ctrl-C): no result to give, only where it stopped.
    if (!final || stoppedEarly(run)) {
      out.line();
      for (const line of stopped) out.line(line);
      out.line(`report: ${report.report}`);
      return undefined;
    }
    for (const line of stopped) out.line(line);
    return { seed: spec.seed, final, raw, seconds, summary, report: report.report };
  } finally {
    run.model.dispose();
  }
}

function printResult(result: DemoResult, out: Output): void {
  const { final, raw } = result;
  const label = `held-out accuracy (${final.folds.length}-fold LFW protocol): `;
  out.line();
  out.line(`${label}${formatAccuracy(final)}`);
  if (final.angularFisherScore) {
    out.line(
      `${'Angular Fisher score:'.padEnd(label.length)}${describeAfs(final.angularFisherScore)}`,
    );
  }
  out.line(`${'raw-pixel cosine on the same pairs:'.padEnd(label.length)}${formatAccuracy(raw)}`);
  out.line(`wall time ${result.seconds.toFixed(0)} s; report: ${result.report}`);
}

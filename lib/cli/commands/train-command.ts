import * as path from 'node:path';
import { LfwEvaluator } from '../../eval/lfw-evaluator';
import { writeReport } from '../../report/write-report';
import { requiredString, stringArg } from '../args';
import { UsageError, type Command } from '../command';
import { loadHeldOut, loadTrainSet } from '../datasets';
import { epochMetrics, formatAccuracy } from '../run-report';
import { readTrainingArgs, trainingOptions, trainingUsage } from '../training-args';
import { runTraining } from '../training-run';

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a model on a folder-per-identity dataset, evaluating on LFW-style pairs',
  usage:
    'sphereface train --data DIR|STORE [--landmarks FILE] [--lfw DIR --pairs FILE ' +
    '[--lfw-landmarks FILE]] [--cache DIR] [options]\n' +
    trainingUsage +
    "\nDefaults: sphere20, the paper's 28k iterations of batch 64 at lr 0.1 (/10 at 16k, 24k).\n" +
    '--data is an image store (sphereface prepare) or a folder per identity, which is prepared\n' +
    'into a store under the cache folder first.',
  options: {
    ...trainingOptions,
    data: { type: 'string' },
    landmarks: { type: 'string' },
    lfw: { type: 'string' },
    pairs: { type: 'string' },
    'lfw-landmarks': { type: 'string' },
    cache: { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const config = readTrainingArgs(values, {
      arch: 'sphere20',
      iterations: 28000,
      batchSize: 64,
      lr: 0.1,
      schedule: 'multistep',
      warmup: 0,
      out: 'sphereface-run',
    });
    const dataDir = requiredString(values, 'data');
    const lfwDir = stringArg(values, 'lfw');
    const pairs = stringArg(values, 'pairs');
    if ((lfwDir === undefined) !== (pairs === undefined)) {
      throw new UsageError('--lfw and --pairs go together');
    }
    const json = values.json === true;
    const print = json ? undefined : (line: string) => console.log(line);
    const cacheDir = stringArg(values, 'cache') ?? path.join(config.out, 'cache');
    const train = await loadTrainSet(dataDir, config.arch, {
      landmarks: stringArg(values, 'landmarks'),
      cacheDir,
      progress: !json,
    });
    print?.(`${train.images.n} training images of ${train.classes} identities from ${dataDir}`);
    const heldOut =
      lfwDir && pairs
        ? await loadHeldOut(lfwDir, pairs, config.arch, {
            landmarks: stringArg(values, 'lfw-landmarks'),
            cacheDir,
            progress: !json,
          })
        : undefined;
    const evaluator = heldOut ? new LfwEvaluator(heldOut.images, heldOut.pairs) : undefined;
    const run = await runTraining({
      config,
      train: train.images,
      classes: train.classes,
      evaluator,
      print,
    }).finally(() => train.images.close());
    try {
      const final = run.history.evals.at(-1)?.result;
      const summary = {
        command: 'train',
        config,
        data: { root: dataDir, images: train.images.n, identities: train.classes },
        iterations: run.history.iterations,
        seconds: run.seconds,
        checkpoint: run.history.lastCheckpoint?.modelPath,
        epochs: run.history.epochs,
      };
      const report = await writeReport(config.out, {
        title: `sphereface train: ${config.arch}, ${config.head.kind} head`,
        summary,
        epochs: epochMetrics(run.history),
        evaluation: final,
      });
      if (json) {
        console.log(JSON.stringify({ ...summary, accuracy: final?.accuracy, std: final?.std }));
      } else {
        if (final) console.log(`held-out accuracy ${formatAccuracy(final)}`);
        console.log(`model: ${run.history.lastCheckpoint?.modelPath ?? '(no out dir)'}`);
        console.log(`report: ${report.report}`);
      }
      return 0;
    } finally {
      run.model.dispose();
    }
  },
};

// What `sphereface train` and `sphereface demo` share once the images are in memory: make (or
// resume) the model, run the Trainer with the seed's table on stdout and the progress line on
// stderr, and hand back the history.
import * as path from 'node:path';
import { DataLoader, type LoaderTransform } from '../data/data-loader';
import type { ImageStore } from '../data/store/image-store';
import { CenterCrop } from '../data/transforms/center-crop';
import { RandomCrop } from '../data/transforms/random-crop';
import { RandomHorizontalFlip } from '../data/transforms/random-horizontal-flip';
import type { ImageSet } from '../data/types';
import type { ProcessGroup } from '../dist/process-group';
import type { LfwEvaluation, LfwEvaluator } from '../eval/lfw-evaluator';
import { setNumThreads } from '../info';
import { inputSizeOf } from '../models/archs';
import { createModel, type Model } from '../models/model';
import { listCheckpoints, type Checkpoint } from '../train/checkpoint';
import { checkAsUsage, UsageError } from './command';
import { isWorker } from './launcher';
import { checkReportOut, isFolder, isInside } from './output-paths';
import { loadResumedModel } from './resume-config';
import { nothingLeft, RUN_LOCK_FILE, Trainer, type History } from '../train/trainer';
import { lockHolder } from '../util/folder-lock';
import { EpochTable } from './epoch-table';
import { stopOnSignal } from './stop-on-signal';
import type { Output } from './output';
import { trainingText } from './progress';
import type { TrainingConfig } from './training-args';

export interface TrainingRunInput {
  config: TrainingConfig;
  train: ImageSet | ImageStore;
  classes: number;
  evaluator?: LfwEvaluator;
  out: Output;
  /** Distributed: this process is one rank of the group's run. */
  group?: ProcessGroup;
}

export interface TrainingRunResult {
  model: Model;
  history: History<LfwEvaluation>;
  resumedFrom?: Checkpoint;
  seconds: number;
  batchesPerEpoch: number;
  /** Where the run ends (its --epochs or --iterations). */
  totalIterations: number;
  /** The signal that stopped the run, if one did. */
  stoppedBy?: NodeJS.Signals;
}

function augmentation(config: TrainingConfig, train: ImageSet | ImageStore): LoaderTransform[] {
  const { height, width } = inputSizeOf(config.arch);
  if (train.height < height || train.width < width) {
    throw new Error(
      `the training images are ${train.height}x${train.width}, smaller than ${config.arch}'s ${height}x${width} input`,
    );
  }
  // Larger images are centre-cropped to the input, which is what eval, embed and verify do
  // (inputTransforms) only where no resize is needed: one side already the input's (the 112x112
  // insightface releases for the 112x96 nets).
  if (train.height !== height && train.width !== width) {
    throw new Error(
      `the training images are ${train.height}x${train.width}; ${config.arch} takes images ` +
        `resized to cover ${height}x${width} and centre-cropped, as eval, embed and verify give ` +
        `them, and a crop alone would train on another view: prepare the store with --size ` +
        `${height}x${width}`,
    );
  }
  const transforms: LoaderTransform[] = [];
  if (train.height !== height || train.width !== width)
    transforms.push(new CenterCrop([height, width]));
  if (config.cropPadding > 0) {
    transforms.push(new RandomCrop([height, width], { padding: config.cropPadding }));
  }
  if (config.flip) transforms.push(new RandomHorizontalFlip(0.5));
  return transforms;
}

/**
 * Refuses a new run into a folder that holds another (the two runs' checkpoints and metrics
 * would mix, and a later --resume could pick the wrong one), unless --resume or --force; and an
 * out folder inside `data` (the run's images folder), or holding another command's report.
 */
export async function checkOutFolder(
  config: TrainingConfig,
  command: string,
  data?: string,
): Promise<void> {
  await checkReportOut('out', config.out, command);
  if (data !== undefined && isFolder(data) && isInside(config.out, data)) {
    throw new UsageError(
      `--out ${config.out} is inside --data ${data}: the run's files would become part of ` +
        'its images; choose a folder outside it',
    );
  }
  // The trainer's lock refuses it too, but only after the data are read; a rank another launcher
  // started leaves it there, as its rank 0 may hold the lock already.
  const holder = isWorker() ? undefined : await lockHolder(config.out, RUN_LOCK_FILE);
  if (holder !== undefined) {
    throw new UsageError(
      `--out ${config.out} is in use by the training run of process ${holder} ` +
        `(${path.join(config.out, RUN_LOCK_FILE)}); wait for it, or choose another --out`,
    );
  }
  if (config.resume || config.force) return;
  const existing = await listCheckpoints(path.join(config.out, 'checkpoints'));
  if (existing.length === 0) return;
  throw new UsageError(
    `${config.out} already holds a training run (${existing.length} checkpoint(s), the newest ` +
      `${existing.at(-1)}); pass --resume to continue it, --force to start a new run beside it ` +
      '(its checkpoints are kept), or choose another --out',
  );
}

export async function runTraining(input: TrainingRunInput): Promise<TrainingRunResult> {
  const { config, train, classes, evaluator, out, group } = input;
  if (config.threads !== undefined) setNumThreads(config.threads);
  let resumedFrom: Checkpoint | undefined;
  let model: Model;
  if (config.resume) {
    const resumed = await loadResumedModel(
      config.out,
      { device: config.device, arch: config.arch },
      (skipped) => out.note(`--resume passes over ${skipped.dir}: ${skipped.why}`),
    );
    resumedFrom = resumed.checkpoint;
    model = resumed.model;
    out.line(`resuming from ${resumedFrom.dir} (iteration ${resumedFrom.state.iteration})`);
  } else {
    model = await createModel({
      arch: config.arch,
      classes,
      head: config.head,
      embeddingDim: config.embeddingDim,
      device: config.device,
      seed: config.seed,
    });
  }
  try {
    const data = new DataLoader(train, {
      batchSize: config.batchSize,
      seed: config.seed,
      classes,
      transforms: augmentation(config, train),
      ...(group ? { rank: group.rank, worldSize: group.worldSize } : {}),
    });
    const trainer = new Trainer<LfwEvaluation>({
      model,
      data,
      epochs: config.epochs,
      iterations: config.iterations,
      // Recorded in checkpoints: a resume's batch size where --batch-size is not given.
      batchSize: config.batchSize,
      optimizer: config.optimizer,
      schedule: config.schedule,
      lambda: config.lambda,
      evaluator: evaluator && {
        evaluate: (model) => evaluator.evaluate(model, { onProgress: out.counter('evaluating') }),
      },
      evalEvery: config.evalEvery,
      checkpointEvery: config.checkpointEvery,
      keepCheckpoints: config.keep,
      outDir: config.out,
      seed: config.seed,
      resume: resumedFrom,
      distributed: group,
    });
    // Refused before fit(), which would rewrite the run's files with nothing trained; another
    // model, data or batch size first, which also make the run's length another. Each is the
    // command line's (--data, --batch-size, --epochs), as the flags a resume contradicts are.
    if (resumedFrom) checkAsUsage(() => trainer.checkCheckpoint(resumedFrom));
    const done = resumedFrom && nothingLeft(resumedFrom.state.iteration, trainer.totalIterations);
    // A run stopped in its final evaluation left no report: its model is evaluated with eval.
    if (resumedFrom && done) {
      throw new UsageError(
        `${done}; give a longer --epochs or --iterations, or evaluate its model with ` +
          `sphereface eval --model ${resumedFrom.modelPath}`,
      );
    }
    // Printed from its first row, so a resume's note comes before it.
    const table = new EpochTable((line) => out.line(line), {
      iterations: typeof config.evalEvery === 'object' && config.evalEvery.iterations !== undefined,
    });
    trainer.on('batch', (b) => {
      table.flush();
      out.progress?.update(trainingText(b));
    });
    trainer.on('resume', (r) => {
      if (r.changes.length)
        out.line(`settings changed since that checkpoint: ${r.changes.join('; ')}`);
    });
    trainer.on('epoch', (e) => table.epoch(e));
    trainer.on('eval', (e) => table.eval(e));
    // Ctrl-C, or a scheduler's SIGTERM: finish the step, write a checkpoint, and stop.
    let stoppedBy: NodeJS.Signals | undefined;
    const stopping = {
      stopping: 'stopping after this step and writing a checkpoint',
      stop: (signal: NodeJS.Signals) => {
        stoppedBy = signal;
        trainer.stop();
      },
    };
    const start = performance.now();
    const history = await stopOnSignal(out, stopping, () => trainer.fit());
    out.progress?.clear();
    table.flush();
    return {
      model,
      history,
      resumedFrom,
      seconds: (performance.now() - start) / 1000,
      batchesPerEpoch: data.batchesPerEpoch,
      totalIterations: trainer.totalIterations,
      stoppedBy,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

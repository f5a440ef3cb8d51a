import * as path from 'node:path';
import { LfwEvaluator } from '../../eval/lfw-evaluator';
import { inputSizeOf } from '../../models/archs';
import { writeReport } from '../../report/write-report';
import { maxPixelsArg, maxPixelsOption, requiredString, stringArg } from '../args';
import { refuseFaceFlags } from '../face-args';
import { UsageError, type Command, type ParsedValues } from '../command';
import { distributedOptions, isWorker, launchOrJoin } from '../launcher';
import { silentOutput } from '../output';
import { checkOutputFolder } from '../output-paths';
import {
  isImageStore,
  loadHeldOut,
  loadTrainSet,
  heldOutRecord,
  noteSkippedPairs,
  skippedNote,
  skippedPairsNotes,
} from '../datasets';
import { formatAccuracy, runRecord, stopLines } from '../run-report';
import { PAPER_ITERATIONS, PAPER_LR } from '../../train/schedule';
import { readRunConfig } from '../resume-config';
import { trainingOptions, type TrainingDefaults } from '../training-args';
import { stoppingPreparation, storeProgress } from '../store-progress';
import { stopOnSignal } from '../stop-on-signal';
import { checkOutFolder, runTraining } from '../training-run';

// The paper's recipe: sphere20, 28k iterations at lr 0.1, /10 at 16k and 24k, in batches of 256
// (the released Caffe model's, wy1iu/sphereface train/code/sphereface_model.prototxt).
const TRAIN_DEFAULTS: TrainingDefaults = {
  arch: 'sphere20',
  iterations: PAPER_ITERATIONS,
  batchSize: 256,
  lr: PAPER_LR,
  schedule: 'multistep',
  warmup: 0,
  out: 'sphereface-run',
};

/**
 * A prepared store's images were decoded (and aligned, or not) when it was prepared: the flags
 * about decoding apply to it no more, only to the held-out images when there are some.
 */
function refuseStoreFlags(values: ParsedValues, dataDir: string, heldOut: boolean): void {
  if (!isImageStore(dataDir)) return;
  const decoding = heldOut ? [] : ['skip-bad-images', 'max-pixels'];
  for (const flag of ['landmarks', ...decoding]) {
    if (values[flag] !== undefined) {
      throw new UsageError(
        `--${flag} applies to images being decoded, and ${dataDir} is a prepared image store ` +
          '(its images were decoded when it was prepared: see sphereface prepare)',
      );
    }
  }
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a model on a folder-per-identity dataset, evaluating on LFW-style pairs',
  usage:
    'sphereface train --data DIR|STORE|FILE.rec [--landmarks FILE] [--lfw DIR --pairs FILE ' +
    '[--lfw-landmarks FILE]] [--cache DIR] [options]',
  notes:
    "Without options: the paper's recipe, sphere20 with A-Softmax m = 4.\n" +
    '--data is an image store (sphereface prepare), or a folder per identity or an insightface\n' +
    '.rec, which is prepared into a store under the cache folder first.',
  options: {
    data: {
      type: 'string',
      value: 'DIR',
      description: 'training images: an image store, a folder per identity, or a .rec (required)',
    },
    landmarks: {
      type: 'string',
      value: 'FILE',
      description:
        '5-point landmarks per image (path<TAB>x1 y1 ... x5 y5): align onto the template',
    },
    lfw: { type: 'string', value: 'DIR', description: 'held-out images in the LFW layout' },
    pairs: { type: 'string', value: 'FILE', description: 'their pairs file (with --lfw)' },
    'lfw-landmarks': {
      type: 'string',
      value: 'FILE',
      description: "the held-out images' landmarks",
    },
    cache: {
      type: 'string',
      value: 'DIR',
      description: 'keep the decoded images here',
      default: '<out>/cache',
    },
    'skip-bad-images': {
      type: 'boolean',
      description: 'leave out images that cannot be decoded (and pairs that use them)',
    },
    ...maxPixelsOption,
    ...trainingOptions(TRAIN_DEFAULTS),
    ...distributedOptions,
  },
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const config = await readRunConfig(values, TRAIN_DEFAULTS);
    refuseFaceFlags(values, inputSizeOf(config.arch), ['landmarks', 'lfw-landmarks']);
    const dataDir = requiredString(values, 'data');
    // Once, before any worker starts; a rank another launcher started checks once it has joined.
    if (!isWorker()) await checkOutFolder(config, 'train', dataDir);
    const cache = stringArg(values, 'cache');
    if (cache !== undefined && !isWorker()) await checkOutputFolder('cache', cache);
    const role = await launchOrJoin('train', values, positionals, this.options, config, out);
    if ('exitCode' in role) return role.exitCode;
    const { group } = role; // distributed: this process is one rank of the group's run
    if (group && !group.isWriter) out = silentOutput(); // rank 0 prints; errors reach main
    const lfwDir = stringArg(values, 'lfw');
    const pairs = stringArg(values, 'pairs');
    if ((lfwDir === undefined) !== (pairs === undefined)) {
      throw new UsageError('--lfw and --pairs go together');
    }
    for (const flag of ['lfw-landmarks', 'eval-every']) {
      if (values[flag] !== undefined && lfwDir === undefined) {
        throw new UsageError(`--${flag} applies to the held-out pairs: give --lfw and --pairs`);
      }
    }
    refuseStoreFlags(values, dataDir, lfwDir !== undefined);
    if (isWorker()) await checkOutFolder(config, 'train', dataDir);
    const cacheDir = stringArg(values, 'cache') ?? path.join(config.out, 'cache');
    // Rank 0 prepares (or checks) the image store first; the others then open it, and each rank
    // gathers only its part of every batch from the shards.
    if (group && !group.isWriter) await group.barrier();
    const preparation = new AbortController();
    const train = await stopOnSignal(out, stoppingPreparation(preparation), () =>
      loadTrainSet(dataDir, config.arch, {
        landmarks: stringArg(values, 'landmarks'),
        cacheDir,
        skipBadImages: values['skip-bad-images'] === true,
        maxPixels: maxPixelsArg(values),
        onStoreEvent: storeProgress(out),
        preparedElsewhere: group !== undefined && !group.isWriter,
        signal: preparation.signal,
      }),
    );
    const skipped = skippedNote(train.images, 'training images');
    if (skipped) out.note(skipped);
    out.line(`${train.images.n} training images of ${train.classes} identities from ${dataDir}`);
    const heldOut =
      lfwDir && pairs && (!group || group.isWriter)
        ? await loadHeldOut(lfwDir, pairs, config.arch, {
            landmarks: stringArg(values, 'lfw-landmarks'),
            cacheDir,
            skipBadImages: values['skip-bad-images'] === true,
            maxPixels: maxPixelsArg(values),
            onProgress: out.counter('decoding held-out images'),
          })
        : undefined;
    if (heldOut) noteSkippedPairs(out, heldOut);
    if (group?.isWriter) await group.barrier();
    const evaluator = heldOut ? new LfwEvaluator(heldOut.images, heldOut.pairs) : undefined;
    const run = await runTraining({
      config,
      train: train.images,
      classes: train.classes,
      evaluator,
      out,
      group,
    }).finally(() => train.images.close());
    try {
      if (group && !group.isWriter) {
        await group.leave();
        return 0; // rank 0 reports
      }
      const final = run.history.evals.at(-1)?.result;
      const record = await runRecord(config.out, run);
      const summary = {
        command: 'train',
        config,
        data: { root: dataDir, images: train.images.n, identities: train.classes },
        seconds: run.seconds,
        ...(heldOut ? { heldOut: heldOutRecord(heldOut) } : {}),
        ...record.summary,
      };
      const report = await writeReport(config.out, {
        title: `sphereface train: ${config.arch}, ${config.head.kind} head`,
        summary,
        epochs: record.rows,
        evaluation: final,
        notes: heldOut ? skippedPairsNotes(heldOut) : [],
      });
      out.result({ ...summary, accuracy: final?.accuracy, std: final?.std });
      if (final) out.line(`held-out accuracy ${formatAccuracy(final)}`);
      for (const line of stopLines(run, 'train')) out.line(line);
      out.line(`model: ${run.history.lastCheckpoint?.modelPath ?? '(no out dir)'}`);
      out.line(`report: ${report.report}`);
      await group?.leave();
      return 0;
    } finally {
      run.model.dispose();
    }
  },
};

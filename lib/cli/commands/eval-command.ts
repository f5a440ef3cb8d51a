import { expectInput } from '../../util/regular-file';
import { describeAfs } from '../../eval/angular-fisher-score';
import { rawPixelEmbedder } from '../../eval/embedder';
import {
  LfwEvaluator,
  evaluationSummary,
  type LfwEvaluation,
  type LfwEvaluatorOptions,
} from '../../eval/lfw-evaluator';
import { FLIP_MODES } from '../../models/embed-images';
import { loadModel, type Model } from '../../models/model';
import { writeReport } from '../../report/write-report';
import {
  choiceArg,
  integerArg,
  maxPixelsArg,
  maxPixelsOption,
  requiredString,
  stringArg,
} from '../args';
import { refuseFaceFlags } from '../face-args';
import { UsageError, type Command, type Options, type ParsedValues } from '../command';
import {
  heldOutRecord,
  loadBinHeldOut,
  loadHeldOut,
  noteSkippedPairs,
  skippedPairsNotes,
} from '../datasets';
import type { Output } from '../output';
import { checkOutputFolder, checkReportOut } from '../output-paths';
import { whyUnwritable } from '../../util/make-folder';
import { formatAccuracy } from '../run-report';
import { flagsUnlikeVerify } from '../verify-threshold';

function evaluationLines(name: string, e: LfwEvaluation): string[] {
  const tar = e.roc.tarAtFar.map((t) => `TAR ${t.tar.toFixed(4)} @ FAR ${t.far}`).join(', ');
  return [
    `${name}: accuracy ${formatAccuracy(e)} (threshold ${e.threshold.toFixed(4)})`,
    `  AUC ${e.roc.auc.toFixed(4)}, EER ${e.roc.eer.toFixed(4)}, ${tar}`,
    ...(e.angularFisherScore
      ? [`  Angular Fisher score ${describeAfs(e.angularFisherScore)}`]
      : []),
  ];
}

const flags = {
  model: { type: 'string', value: 'FILE', description: 'the model file (model.sfm)' },
  lfw: {
    type: 'string',
    value: 'DIR',
    description: 'images in the LFW layout (<Name>/<Name>_0001.jpg)',
  },
  pairs: { type: 'string', value: 'FILE', description: 'the pairs file (pairs.txt, 10 folds)' },
  bin: {
    type: 'string',
    value: 'FILE',
    description: 'an insightface verification set (lfw.bin, cfp_fp.bin, agedb_30.bin)',
  },
  landmarks: {
    type: 'string',
    value: 'FILE',
    description: '5-point landmarks per image: align onto the template instead of resize + crop',
  },
  flip: {
    type: 'string',
    value: 'concat|sum|none',
    description: "how the mirror image's features are used",
    default: 'concat' as const,
  },
  'subtract-mean': {
    type: 'boolean',
    description: "subtract the training folds' mean feature (the original evaluation)",
  },
  'raw-pixels': {
    type: 'boolean',
    description: 'also score the raw-pixel cosine baseline (with --bin and no --model: it alone)',
  },
  'batch-size': { type: 'string', value: 'N', description: 'images per embed call', default: 64 },
  out: {
    type: 'string',
    short: 'o',
    value: 'DIR',
    description: 'write report.md, summary.json and plots here',
  },
  cache: {
    type: 'string',
    value: 'DIR',
    description: 'keep the decoded images here for later runs',
  },
  'skip-bad-images': {
    type: 'boolean',
    description: 'leave out pairs whose images are missing or cannot be decoded',
  },
  'save-threshold': {
    type: 'boolean',
    description:
      'store the threshold found, with this protocol, in the model file (verify uses it)',
  },
  ...maxPixelsOption,
} satisfies Options;

interface Outcome {
  title: string;
  summary: Record<string, unknown>;
  /** What was evaluated, as the text output names it. */
  name: string;
  evaluation: LfwEvaluation;
  /** The raw-pixel floor beside a model's figures. */
  baseline?: LfwEvaluation;
  /** Lines on what the figures leave out. */
  notes: string[];
  /** The model file the threshold was stored in (--save-threshold). */
  thresholdSavedIn?: string;
}

/** The protocol a stored threshold keeps: how it was computed, and on what. */
function thresholdProtocol(e: LfwEvaluation, data: string): string {
  return (
    `${e.protocol.description} Found on ${data} (${e.pairs} pairs): ` +
    `accuracy ${formatAccuracy(e)}.`
  );
}

/** --save-threshold: the evaluation's threshold and protocol into the model file. */
async function saveThreshold(
  values: ParsedValues,
  model: Model,
  modelFile: string,
  evaluation: LfwEvaluation,
  data: string,
): Promise<string | undefined> {
  if (values['save-threshold'] !== true) return undefined;
  model.setThreshold(evaluation.threshold, thresholdProtocol(evaluation, data));
  await model.save(modelFile);
  return modelFile;
}

/** The report, then the figures: lines, or one JSON line whose `accuracy` is `evaluation`'s. */
async function report(values: ParsedValues, out: Output, o: Outcome): Promise<number> {
  const reportDir = stringArg(values, 'out');
  if (reportDir) {
    await writeReport(reportDir, {
      title: o.title,
      summary: o.summary,
      evaluation: o.evaluation,
      baseline: o.baseline,
      notes: o.notes,
    });
  }
  out.result({
    ...o.summary,
    accuracy: o.evaluation.accuracy,
    evaluation: evaluationSummary(o.evaluation),
    ...(o.baseline ? { baseline: evaluationSummary(o.baseline) } : {}),
    ...(o.thresholdSavedIn ? { thresholdSavedIn: o.thresholdSavedIn } : {}),
  });
  evaluationLines(o.name, o.evaluation).forEach((l) => out.line(l));
  if (o.baseline) evaluationLines('raw pixels', o.baseline).forEach((l) => out.line(l));
  out.line(`protocol: ${o.evaluation.protocol.description}`);
  if (o.thresholdSavedIn) {
    out.line(`threshold ${o.evaluation.threshold.toFixed(4)} stored in ${o.thresholdSavedIn}`);
  }
  if (reportDir) out.line(`report: ${reportDir}/report.md`);
  return 0;
}

async function evalLfw(
  values: ParsedValues,
  out: Output,
  protocol: LfwEvaluatorOptions,
): Promise<Outcome> {
  const modelFile = requiredString(values, 'model');
  const lfwDir = requiredString(values, 'lfw');
  const pairsFile = requiredString(values, 'pairs');
  expectInput(modelFile, 'model file');
  const cacheDir = stringArg(values, 'cache');
  if (cacheDir !== undefined) await checkOutputFolder('cache', cacheDir);
  const model = await loadModel(modelFile);
  try {
    refuseFaceFlags(values, model.inputSize, ['landmarks']);
    const heldOut = await loadHeldOut(lfwDir, pairsFile, model.arch, {
      landmarks: stringArg(values, 'landmarks'),
      cacheDir,
      skipBadImages: values['skip-bad-images'] === true,
      maxPixels: maxPixelsArg(values),
      onProgress: out.counter('decoding'),
    });
    noteSkippedPairs(out, heldOut);
    const evaluator = new LfwEvaluator(heldOut.images, heldOut.pairs, protocol);
    const evaluation = await evaluator.evaluate(model, { onProgress: out.counter('embedding') });
    const baseline = values['raw-pixels']
      ? await evaluator.evaluate(rawPixelEmbedder(heldOut.images.height, heldOut.images.width))
      : undefined;
    const data = `${pairsFile} with images in ${lfwDir}`;
    const thresholdSavedIn = await saveThreshold(values, model, modelFile, evaluation, data);
    return {
      title: `sphereface eval: ${modelFile}`,
      summary: {
        command: 'eval',
        model: modelFile,
        arch: model.arch,
        lfw: lfwDir,
        pairs: pairsFile,
        heldOut: heldOutRecord(heldOut),
      },
      notes: skippedPairsNotes(heldOut),
      name: 'model',
      evaluation,
      baseline,
      thresholdSavedIn,
    };
  } finally {
    model.dispose();
  }
}

// insightface's .bin images are 112x112 aligned crops; the model's preprocessing (resize the
// shorter side to the input's longer side, centre crop) leaves them at 112 rows and cuts 8
// columns off each side for the 112x96 nets: SphereFace's own alignment.
async function evalBin(
  values: ParsedValues,
  out: Output,
  binFile: string,
  protocol: LfwEvaluatorOptions,
): Promise<Outcome> {
  for (const flag of ['lfw', 'pairs', 'landmarks', 'cache']) {
    if (values[flag] !== undefined) {
      throw new UsageError(`--${flag} does not go with --bin (a .bin holds its images and pairs)`);
    }
  }
  const modelFile = stringArg(values, 'model');
  const rawPixels = values['raw-pixels'] === true;
  if (modelFile === undefined && !rawPixels) {
    throw new UsageError('--model is required (or --raw-pixels alone, for the raw-pixel floor)');
  }
  if (modelFile !== undefined) expectInput(modelFile, 'model file');
  const model = modelFile === undefined ? undefined : await loadModel(modelFile);
  try {
    const set = await loadBinHeldOut(binFile, model?.inputSize, {
      skipBadImages: values['skip-bad-images'] === true,
      maxPixels: maxPixelsArg(values),
      onProgress: out.counter('decoding'),
    });
    noteSkippedPairs(out, set);
    const { height, width } = set.images;
    const evaluator = new LfwEvaluator(set.images, set.pairs, protocol);
    const raw = rawPixels ? await evaluator.evaluate(rawPixelEmbedder(height, width)) : undefined;
    const evaluation = model
      ? await evaluator.evaluate(model, { onProgress: out.counter('embedding') })
      : raw!;
    const thresholdSavedIn = model
      ? await saveThreshold(values, model, modelFile!, evaluation, binFile)
      : undefined;
    return {
      title: `sphereface eval: ${modelFile ?? 'raw pixels'} on ${binFile}`,
      summary: {
        command: 'eval',
        bin: binFile,
        evaluated: model ? 'model' : 'raw-pixels',
        ...(model ? { model: modelFile, arch: model.arch } : {}),
        imageSize: { height, width },
        heldOut: heldOutRecord(set),
      },
      notes: skippedPairsNotes(set),
      name: model ? 'model' : 'raw pixels',
      evaluation,
      baseline: model ? raw : undefined,
      thresholdSavedIn,
    };
  } finally {
    model?.dispose();
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'Evaluate a model on LFW-style pairs or an insightface .bin (10-fold accuracy +- std, ROC, AUC, EER, TAR@FAR, AFS)',
  usage:
    'sphereface eval --model FILE (--lfw DIR --pairs FILE [--landmarks FILE] [--cache DIR] | ' +
    '--bin FILE) [options]\n' +
    '       sphereface eval --bin FILE --raw-pixels [options]   (the raw-pixel floor alone)',
  notes:
    "--bin reads insightface's verification sets: pair i is images 2i and 2i+1, in ten\n" +
    'consecutive folds as insightface evaluates them. Their 112x112 crops are centre-cropped to\n' +
    "the model's 112x96 input (8 columns off each side: SphereFace's alignment) or resized to\n" +
    '96x96 for sphere-cnn4; --raw-pixels alone uses them as stored. With --json the one JSON\n' +
    "line's `accuracy` is the evaluated figure.",
  options: flags,
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const protocol: LfwEvaluatorOptions = {
      flip: choiceArg(values, 'flip', FLIP_MODES, flags.flip.default),
      subtractMean: values['subtract-mean'] === true,
      batchSize: integerArg(values, 'batch-size', 1, flags['batch-size'].default),
    };
    if (values['save-threshold'] === true) {
      const unlike = flagsUnlikeVerify({
        flip: protocol.flip ?? flags.flip.default,
        subtractMean: protocol.subtractMean === true,
      });
      if (unlike.length) {
        throw new UsageError(
          '--save-threshold stores a threshold for verify, which compares --flip concat ' +
            `features without a mean subtracted: drop ${unlike.join(' and ')}`,
        );
      }
      if (stringArg(values, 'model') === undefined) {
        throw new UsageError('--save-threshold needs --model (the file the threshold goes into)');
      }
      // The model file is rewritten in place: its folder must take the new file, before the work.
      const why = await whyUnwritable(stringArg(values, 'model')!);
      if (why) throw new UsageError(`--save-threshold: ${why}`);
    }
    const reportDir = stringArg(values, 'out');
    if (reportDir !== undefined) await checkReportOut('out', reportDir, 'eval');
    const binFile = stringArg(values, 'bin');
    const outcome =
      binFile === undefined
        ? await evalLfw(values, out, protocol)
        : await evalBin(values, out, binFile, protocol);
    return report(values, out, outcome);
  },
};

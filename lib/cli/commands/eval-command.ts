import * as fs from 'node:fs';
import { loadVerificationBin } from '../../data/insightface-bin';
import { rawPixelEmbedder } from '../../eval/embedder';
import {
  LfwEvaluator,
  evaluationSummary,
  type LfwEvaluation,
  type LfwEvaluatorOptions,
} from '../../eval/lfw-evaluator';
import { loadModel } from '../../models/model';
import { writeReport } from '../../report/write-report';
import { choiceArg, integerArg, requiredString, stringArg } from '../args';
import { UsageError, type Command, type ParsedValues } from '../command';
import { loadHeldOut } from '../datasets';
import { preprocessFor } from '../preprocess';
import { formatAccuracy } from '../run-report';

function describe(name: string, e: LfwEvaluation): string[] {
  const tar = e.roc.tarAtFar.map((t) => `TAR ${t.tar.toFixed(4)} @ FAR ${t.far}`).join(', ');
  return [
    `${name}: accuracy ${formatAccuracy(e)} (threshold ${e.threshold.toFixed(4)})`,
    `  AUC ${e.roc.auc.toFixed(4)}, EER ${e.roc.eer.toFixed(4)}, ${tar}`,
  ];
}

interface Outcome {
  title: string;
  summary: Record<string, unknown>;
  /** What was evaluated, as the text output names it. */
  name: string;
  evaluation: LfwEvaluation;
  /** The raw-pixel floor beside a model's figures. */
  baseline?: LfwEvaluation;
}

/** The report, then the figures: text, or one JSON line whose `accuracy` is `evaluation`'s. */
async function report(values: ParsedValues, o: Outcome): Promise<number> {
  const out = stringArg(values, 'out');
  if (out) {
    await writeReport(out, {
      title: o.title,
      summary: o.summary,
      evaluation: o.evaluation,
      baseline: o.baseline,
    });
  }
  if (values.json === true) {
    console.log(
      JSON.stringify({
        ...o.summary,
        accuracy: o.evaluation.accuracy,
        evaluation: evaluationSummary(o.evaluation),
        ...(o.baseline ? { baseline: evaluationSummary(o.baseline) } : {}),
      }),
    );
  } else {
    describe(o.name, o.evaluation).forEach((l) => console.log(l));
    if (o.baseline) describe('raw pixels', o.baseline).forEach((l) => console.log(l));
    console.log(`protocol: ${o.evaluation.protocol.description}`);
    if (out) console.log(`report: ${out}/report.md`);
  }
  return 0;
}

async function evalLfw(values: ParsedValues, protocol: LfwEvaluatorOptions): Promise<Outcome> {
  const modelFile = requiredString(values, 'model');
  const lfwDir = requiredString(values, 'lfw');
  const pairsFile = requiredString(values, 'pairs');
  if (!fs.existsSync(modelFile)) throw new Error(`model file ${modelFile} does not exist`);
  const model = await loadModel(modelFile);
  try {
    const heldOut = await loadHeldOut(lfwDir, pairsFile, model.arch, {
      landmarks: stringArg(values, 'landmarks'),
      cacheDir: stringArg(values, 'cache'),
      progress: values.json !== true,
    });
    const evaluator = new LfwEvaluator(heldOut.images, heldOut.pairs, protocol);
    const evaluation = await evaluator.evaluate(model);
    const baseline = values['raw-pixels']
      ? await evaluator.evaluate(rawPixelEmbedder(heldOut.images.height, heldOut.images.width))
      : undefined;
    return {
      title: `sphereface eval: ${modelFile}`,
      summary: {
        command: 'eval',
        model: modelFile,
        arch: model.arch,
        lfw: lfwDir,
        pairs: pairsFile,
      },
      name: 'model',
      evaluation,
      baseline,
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
  if (!fs.existsSync(binFile)) throw new Error(`verification file ${binFile} does not exist`);
  if (modelFile !== undefined && !fs.existsSync(modelFile)) {
    throw new Error(`model file ${modelFile} does not exist`);
  }
  const model = modelFile === undefined ? undefined : await loadModel(modelFile);
  try {
    const set = await loadVerificationBin(binFile, {
      transforms: model ? preprocessFor(model.arch, false) : [],
      progress: values.json === true ? false : undefined,
    });
    const { height, width } = set.images;
    const evaluator = new LfwEvaluator(set.images, set.pairs, protocol);
    const raw = rawPixels ? await evaluator.evaluate(rawPixelEmbedder(height, width)) : undefined;
    const evaluation = model ? await evaluator.evaluate(model) : raw!;
    return {
      title: `sphereface eval: ${modelFile ?? 'raw pixels'} on ${binFile}`,
      summary: {
        command: 'eval',
        bin: binFile,
        evaluated: model ? 'model' : 'raw-pixels',
        ...(model ? { model: modelFile, arch: model.arch } : {}),
        imageSize: { height, width },
      },
      name: model ? 'model' : 'raw pixels',
      evaluation,
      baseline: model ? raw : undefined,
    };
  } finally {
    model?.dispose();
  }
}

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'Evaluate a model on LFW-style pairs or an insightface .bin (10-fold accuracy +- std, ROC, AUC, EER, TAR@FAR)',
  usage:
    'sphereface eval --model FILE (--lfw DIR --pairs FILE [--landmarks FILE] [--cache DIR] | ' +
    '--bin FILE) [--flip concat|sum|none] [--subtract-mean] [--raw-pixels] [--batch-size N] ' +
    '[--out DIR] [--json]\n' +
    '       sphereface eval --bin FILE --raw-pixels [...]   (the raw-pixel floor alone)\n\n' +
    "--bin reads insightface's verification sets (lfw.bin, cfp_fp.bin, agedb_30.bin): pair i is\n" +
    'images 2i and 2i+1, in ten consecutive folds as insightface evaluates them. Their 112x112\n' +
    "crops are centre-cropped to the model's 112x96 input (8 columns off each side: SphereFace's\n" +
    'alignment) or resized to 96x96 for sphere-cnn4; --raw-pixels alone uses them as stored.\n' +
    'With --json the last line is one JSON object; its `accuracy` is the evaluated figure.',
  options: {
    model: { type: 'string' },
    lfw: { type: 'string' },
    pairs: { type: 'string' },
    bin: { type: 'string' },
    landmarks: { type: 'string' },
    flip: { type: 'string' },
    'subtract-mean': { type: 'boolean' },
    'raw-pixels': { type: 'boolean' },
    'batch-size': { type: 'string' },
    out: { type: 'string', short: 'o' },
    cache: { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const protocol: LfwEvaluatorOptions = {
      flip: choiceArg(values, 'flip', ['concat', 'sum', 'none'] as const, 'concat'),
      subtractMean: values['subtract-mean'] === true,
      batchSize: integerArg(values, 'batch-size', 1, 64),
    };
    const binFile = stringArg(values, 'bin');
    const outcome =
      binFile === undefined
        ? await evalLfw(values, protocol)
        : await evalBin(values, binFile, protocol);
    return report(values, outcome);
  },
};

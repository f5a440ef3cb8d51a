import * as fs from 'node:fs';
import { rawPixelEmbedder } from '../../eval/embedder';
import { LfwEvaluator, evaluationSummary, type LfwEvaluation } from '../../eval/lfw-evaluator';
import { loadModel } from '../../models/model';
import { writeReport } from '../../report/write-report';
import { choiceArg, integerArg, requiredString, stringArg } from '../args';
import { UsageError, type Command, type Options } from '../command';
import { FLIP_MODES } from '../../models/embed-images';
import { describeAfs } from '../../eval/angular-fisher-score';
import { loadHeldOut } from '../datasets';
import { formatAccuracy } from '../run-report';

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
  'raw-pixels': { type: 'boolean', description: 'also score the raw-pixel cosine baseline' },
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
} satisfies Options;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Evaluate a model on LFW-style pairs (10-fold accuracy +- std, ROC, AUC, EER, TAR@FAR)',
  usage:
    'sphereface eval --model FILE --lfw DIR --pairs FILE [--landmarks FILE] ' +
    '[--flip concat|sum|none] [--subtract-mean] [--raw-pixels] [--batch-size N] ' +
    '[--out DIR] [--cache DIR] [--json]',
  options: flags,
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const modelFile = requiredString(values, 'model');
    const lfwDir = requiredString(values, 'lfw');
    const pairsFile = requiredString(values, 'pairs');
    const flip = choiceArg(values, 'flip', FLIP_MODES, flags.flip.default);
    const batchSize = integerArg(values, 'batch-size', 1, flags['batch-size'].default);
    const reportDir = stringArg(values, 'out');
    if (!fs.existsSync(modelFile)) throw new Error(`model file ${modelFile} does not exist`);
    const model = await loadModel(modelFile);
    try {
      const heldOut = await loadHeldOut(lfwDir, pairsFile, model.arch, {
        landmarks: stringArg(values, 'landmarks'),
        cacheDir: stringArg(values, 'cache'),
        skipBadImages: values['skip-bad-images'] === true,
        onProgress: out.counter('decoding'),
      });
      if (heldOut.skippedPairs > 0) {
        out.note(`skipped ${heldOut.skippedPairs} pairs with a missing or undecodable image`);
      }
      const evaluator = new LfwEvaluator(heldOut.images, heldOut.pairs, {
        flip,
        subtractMean: values['subtract-mean'] === true,
        batchSize,
      });
      const evaluation = await evaluator.evaluate(model, { onProgress: out.counter('embedding') });
      const baseline = values['raw-pixels']
        ? await evaluator.evaluate(rawPixelEmbedder(heldOut.images.height, heldOut.images.width))
        : undefined;
      const summary = {
        command: 'eval',
        model: modelFile,
        arch: model.arch,
        lfw: lfwDir,
        pairs: pairsFile,
      };
      if (reportDir) {
        await writeReport(reportDir, {
          title: `sphereface eval: ${modelFile}`,
          summary,
          evaluation,
          baseline,
        });
      }
      out.result({
        ...summary,
        evaluation: evaluationSummary(evaluation),
        ...(baseline ? { baseline: evaluationSummary(baseline) } : {}),
      });
      evaluationLines('model', evaluation).forEach((l) => out.line(l));
      if (baseline) evaluationLines('raw pixels', baseline).forEach((l) => out.line(l));
      out.line(`protocol: ${evaluation.protocol.description}`);
      if (reportDir) out.line(`report: ${reportDir}/report.md`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};

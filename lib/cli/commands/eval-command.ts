import * as fs from 'node:fs';
import { rawPixelEmbedder } from '../../eval/embedder';
import { LfwEvaluator, evaluationSummary, type LfwEvaluation } from '../../eval/lfw-evaluator';
import { loadModel } from '../../models/model';
import { writeReport } from '../../report/write-report';
import {
  choiceArg,
  integerArg,
  maxPixelsArg,
  maxPixelsOption,
  maxPixelsUsage,
  requiredString,
  stringArg,
} from '../args';
import { UsageError, type Command } from '../command';
import { loadHeldOut } from '../datasets';
import { formatAccuracy } from '../run-report';

function describe(name: string, e: LfwEvaluation): string[] {
  const tar = e.roc.tarAtFar.map((t) => `TAR ${t.tar.toFixed(4)} @ FAR ${t.far}`).join(', ');
  return [
    `${name}: accuracy ${formatAccuracy(e)} (threshold ${e.threshold.toFixed(4)})`,
    `  AUC ${e.roc.auc.toFixed(4)}, EER ${e.roc.eer.toFixed(4)}, ${tar}`,
  ];
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Evaluate a model on LFW-style pairs (10-fold accuracy +- std, ROC, AUC, EER, TAR@FAR)',
  usage:
    'sphereface eval --model FILE --lfw DIR --pairs FILE [--landmarks FILE] ' +
    '[--flip concat|sum|none] [--subtract-mean] [--raw-pixels] [--batch-size N] ' +
    `[--out DIR] [--cache DIR] ${maxPixelsUsage} [--json]`,
  options: {
    model: { type: 'string' },
    lfw: { type: 'string' },
    pairs: { type: 'string' },
    landmarks: { type: 'string' },
    flip: { type: 'string' },
    'subtract-mean': { type: 'boolean' },
    'raw-pixels': { type: 'boolean' },
    'batch-size': { type: 'string' },
    out: { type: 'string', short: 'o' },
    cache: { type: 'string' },
    ...maxPixelsOption,
  },
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const modelFile = requiredString(values, 'model');
    const lfwDir = requiredString(values, 'lfw');
    const pairsFile = requiredString(values, 'pairs');
    const flip = choiceArg(values, 'flip', ['concat', 'sum', 'none'] as const, 'concat');
    const batchSize = integerArg(values, 'batch-size', 1, 64);
    const out = stringArg(values, 'out');
    if (!fs.existsSync(modelFile)) throw new Error(`model file ${modelFile} does not exist`);
    const json = values.json === true;
    const model = await loadModel(modelFile);
    try {
      const heldOut = await loadHeldOut(lfwDir, pairsFile, model.arch, {
        landmarks: stringArg(values, 'landmarks'),
        cacheDir: stringArg(values, 'cache'),
        progress: !json,
        maxPixels: maxPixelsArg(values),
      });
      const evaluator = new LfwEvaluator(heldOut.images, heldOut.pairs, {
        flip,
        subtractMean: values['subtract-mean'] === true,
        batchSize,
      });
      const evaluation = await evaluator.evaluate(model);
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
      if (out) {
        await writeReport(out, {
          title: `sphereface eval: ${modelFile}`,
          summary,
          evaluation,
          baseline,
        });
      }
      if (json) {
        console.log(
          JSON.stringify({
            ...summary,
            evaluation: evaluationSummary(evaluation),
            ...(baseline ? { baseline: evaluationSummary(baseline) } : {}),
          }),
        );
      } else {
        describe('model', evaluation).forEach((l) => console.log(l));
        if (baseline) describe('raw pixels', baseline).forEach((l) => console.log(l));
        console.log(`protocol: ${evaluation.protocol.description}`);
        if (out) console.log(`report: ${out}/report.md`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};

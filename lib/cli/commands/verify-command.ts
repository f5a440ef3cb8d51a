import * as fs from 'node:fs';
import { loadModel } from '../../models/model';
import {
  maxPixelsArg,
  maxPixelsOption,
  maxPixelsUsage,
  numberArg,
  requiredString,
  stringArg,
} from '../args';
import { UsageError, type Command } from '../command';
import { embedImageFiles } from '../embed-images';

// A threshold from a report's summary.json (eval or train), as `evaluation.threshold`.
function thresholdFrom(file: string): number {
  let summary: { evaluation?: { threshold?: unknown } };
  try {
    summary = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof summary;
  } catch (error) {
    throw new Error(`cannot read a threshold from ${file}: ${(error as Error).message}`);
  }
  const t = summary.evaluation?.threshold;
  if (typeof t !== 'number') throw new Error(`${file} has no evaluation.threshold`);
  return t;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Say whether two face images show the same person (cosine of the embeddings)',
  usage:
    'sphereface verify --model FILE [--threshold T | --summary summary.json] ' +
    `${maxPixelsUsage} IMAGE_A IMAGE_B`,
  options: {
    model: { type: 'string' },
    threshold: { type: 'string' },
    summary: { type: 'string' },
    ...maxPixelsOption,
  },
  async run(values, positionals) {
    if (positionals.length !== 2) {
      throw new UsageError(`expected two image files but received ${positionals.length}`);
    }
    const modelFile = requiredString(values, 'model');
    const summaryFile = stringArg(values, 'summary');
    let threshold = numberArg(values, 'threshold');
    if (threshold !== undefined && summaryFile) {
      throw new UsageError('give --threshold or --summary, not both');
    }
    if (summaryFile) threshold = thresholdFrom(summaryFile);
    const maxPixels = maxPixelsArg(values);
    for (const file of [modelFile, ...positionals]) {
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
    }
    const model = await loadModel(modelFile);
    try {
      // Unit-length embeddings: their dot product is the cosine, as verify() computes it.
      const { embeddings, dim } = await embedImageFiles(model, positionals, {
        progress: false,
        maxPixels,
      });
      let similarity = 0;
      for (let k = 0; k < dim; k++) similarity += embeddings[k] * embeddings[dim + k];
      const same = threshold === undefined ? undefined : similarity > threshold;
      if (values.json) {
        console.log(
          JSON.stringify({ a: positionals[0], b: positionals[1], similarity, threshold, same }),
        );
      } else {
        const verdict =
          same === undefined
            ? '(give --threshold or --summary for a verdict)'
            : `${same ? 'same person' : 'different people'} (threshold ${threshold})`;
        console.log(`similarity ${similarity.toFixed(4)}: ${verdict}`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};

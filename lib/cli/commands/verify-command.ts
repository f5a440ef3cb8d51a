import * as fs from 'node:fs';
import { fileSimilarity } from '../../models/face-files';
import { locateFaces } from '../../models/face-location';
import { alignmentNote, faceLocationArgs, faceOptions } from '../face-args';
import { loadModel } from '../../models/model';
import { readRegularFileSync } from '../../util/regular-file';
import { maxPixelsArg, maxPixelsOption, numberArg, requiredString, stringArg } from '../args';
import { UsageError, type Command } from '../command';

// A threshold from a report's summary.json (eval or train), as `evaluation.threshold`.
function thresholdFrom(file: string): number {
  let summary: { evaluation?: { threshold?: unknown } } | null;
  try {
    summary = JSON.parse(readRegularFileSync(file).toString('utf8')) as typeof summary;
  } catch (error) {
    throw new Error(`cannot read a threshold from ${file}: ${(error as Error).message}`);
  }
  const t = summary?.evaluation?.threshold;
  if (typeof t !== 'number') throw new Error(`${file} has no evaluation.threshold`);
  return t;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Say whether two face images show the same person (cosine of the embeddings)',
  usage: 'sphereface verify --model FILE [--threshold T | --summary summary.json] IMAGE_A IMAGE_B',
  options: {
    model: { type: 'string', value: 'FILE', description: 'the model file (model.sfm)' },
    threshold: {
      type: 'string',
      value: 'T',
      description: 'same person when the cosine similarity is above T',
    },
    summary: {
      type: 'string',
      value: 'FILE',
      description: "take the threshold from an evaluation's summary.json (evaluation.threshold)",
    },
    ...faceOptions,
    ...maxPixelsOption,
  },
  async run(values, positionals, out) {
    if (positionals.length !== 2) {
      throw new UsageError(`expected two image files but received ${positionals.length}`);
    }
    if (positionals.includes('')) throw new UsageError('expected two image files but one is empty');
    const modelFile = requiredString(values, 'model');
    const faces = { ...faceLocationArgs(values, 2), maxPixels: maxPixelsArg(values) };
    const summaryFile = stringArg(values, 'summary');
    let threshold = numberArg(values, 'threshold');
    if (threshold !== undefined && summaryFile) {
      throw new UsageError('give --threshold or --summary, not both');
    }
    if (summaryFile) threshold = thresholdFrom(summaryFile);
    for (const file of [modelFile, ...positionals]) {
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist`);
    }
    const model = await loadModel(modelFile);
    try {
      const [a, b] = positionals;
      const note = alignmentNote(locateFaces([a, b], faces).alignment);
      if (note) out.note(note);
      const verdict =
        threshold === undefined
          ? { similarity: await fileSimilarity(model, a, b, faces), same: undefined }
          : await model.verify(a, b, { ...faces, threshold });
      const { similarity, same } = verdict;
      out.result({ a, b, similarity, threshold, same });
      out.line(
        `similarity ${similarity.toFixed(4)}: ` +
          (same === undefined
            ? '(give --threshold or --summary for a verdict)'
            : `${same ? 'same person' : 'different people'} (threshold ${threshold})`),
      );
      return 0;
    } finally {
      model.dispose();
    }
  },
};

import { expectInput } from '../../util/regular-file';
import { fileSimilarity } from '../../models/face-files';
import { locateFaces } from '../../models/face-location';
import {
  alignmentNote,
  expectImageFiles,
  faceLocationArgs,
  faceOptions,
  refuseFaceFlags,
  refuseStrayFaceValues,
} from '../face-args';
import { loadModel } from '../../models/model';
import { expectCosineThreshold } from '../../models/threshold';
import { maxPixelsArg, maxPixelsOption, numberArg, requiredString, stringArg } from '../args';
import { checkAsUsage, UsageError, type Command } from '../command';
import { thresholdFromSummary } from '../verify-threshold';

interface ThresholdChoice {
  threshold: number;
  source: 'given' | 'summary' | 'stored';
  /** How the text output names the source. */
  label: string;
  /** A stored threshold's protocol. */
  protocol?: string;
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Say whether two face images show the same person (cosine of the embeddings)',
  usage: 'sphereface verify --model FILE [--threshold T | --summary summary.json] IMAGE_A IMAGE_B',
  notes:
    'The threshold is, in this order: --threshold, the one in --summary, the one stored in the\n' +
    'model file (eval --save-threshold); the output says which, and a stored one its protocol.\n' +
    'Without any, only the similarity is printed.',
  options: {
    model: { type: 'string', value: 'FILE', description: 'the model file (model.sfm)' },
    threshold: {
      type: 'string',
      value: 'T',
      description:
        "same person when the cosine similarity is above T (default: the model's stored one)",
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
    refuseStrayFaceValues(positionals);
    if (positionals.length !== 2) {
      throw new UsageError(`expected two image files but received ${positionals.length}`);
    }
    if (positionals.includes('')) throw new UsageError('expected two image files but one is empty');
    const modelFile = requiredString(values, 'model');
    const faces = { ...faceLocationArgs(values, positionals), maxPixels: maxPixelsArg(values) };
    const summaryFile = stringArg(values, 'summary');
    const given = numberArg(values, 'threshold');
    if (given !== undefined) checkAsUsage(() => expectCosineThreshold(given, '--threshold'));
    if (given !== undefined && summaryFile) {
      throw new UsageError('give --threshold or --summary, not both');
    }
    const fromSummary = summaryFile ? thresholdFromSummary(summaryFile) : undefined;
    const chosen: ThresholdChoice | undefined =
      given !== undefined
        ? { threshold: given, source: 'given', label: 'given' }
        : fromSummary
          ? { threshold: fromSummary.threshold, source: 'summary', label: `from ${summaryFile}` }
          : undefined;
    expectInput(modelFile, 'model file');
    expectImageFiles(positionals.map((file) => ({ path: file, where: 'an argument' })));
    const model = await loadModel(modelFile);
    try {
      refuseFaceFlags(values, model.inputSize);
      if (fromSummary?.arch !== undefined && fromSummary.arch !== model.arch) {
        throw new Error(
          `${summaryFile} is an evaluation of a ${fromSummary.arch} model, but --model ` +
            `${modelFile} is ${model.arch}: its threshold does not apply`,
        );
      }
      const [a, b] = positionals;
      const note = alignmentNote(locateFaces([a, b], faces).alignment);
      if (note) out.note(note);
      const use: ThresholdChoice | undefined =
        chosen ??
        (model.threshold === undefined
          ? undefined
          : {
              threshold: model.threshold,
              source: 'stored',
              label: 'stored in the model',
              protocol: model.thresholdProtocol,
            });
      const similarity = await fileSimilarity(model, a, b, faces);
      const same = use === undefined ? undefined : similarity > use.threshold;
      out.result({
        a,
        b,
        similarity,
        threshold: use?.threshold,
        same,
        thresholdSource: use?.source,
        protocol: use?.protocol,
      });
      out.line(
        `similarity ${similarity.toFixed(4)}: ` +
          (use === undefined
            ? '(give --threshold or --summary for a verdict; the model stores no threshold)'
            : `${same ? 'same person' : 'different people'} (threshold ${use.threshold.toFixed(4)}, ${use.label})`),
      );
      if (use?.protocol) out.line(`the stored threshold was found by: ${use.protocol}`);
      return 0;
    } finally {
      model.dispose();
    }
  },
};

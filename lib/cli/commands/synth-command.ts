import { generateSyntheticFaces } from '../../synth/generate';
import { numberArg } from '../args';
import { UsageError, type Command, type Options, type ParsedValues } from '../command';
import { checkOutputFolder } from '../output-paths';

/** A whole number >= min from a string option, or a UsageError naming the option. */
function intOption(values: ParsedValues, name: string, min: number, fallback?: number): number {
  const raw = values[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const text = String(raw);
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name} expects a whole number >= ${min}, got '${text}'`);
  }
  return value;
}

const flags = {
  out: { type: 'string', short: 'o', value: 'DIR', description: 'the folder to write (required)' },
  identities: { type: 'string', value: 'N', description: 'training people (required)' },
  images: { type: 'string', value: 'K', description: 'photos per training person (required)' },
  seed: { type: 'string', value: 'S', description: 'the population and its photos', default: 1 },
  'held-out-identities': {
    type: 'string',
    value: 'N',
    description: 'other people, for verification pairs',
    default: 100,
  },
  'held-out-images': {
    type: 'string',
    value: 'K',
    description: 'photos per held-out person',
    default: 10,
  },
  folds: { type: 'string', value: 'F', description: 'folds in pairs.txt', default: 10 },
  'pairs-per-fold': {
    type: 'string',
    value: 'P',
    description: 'matched (and as many mismatched) pairs per fold',
    default: 300,
  },
  variation: {
    type: 'string',
    value: 'V',
    description: 'how much photos of one person vary, 0..1',
    default: 1,
  },
  'no-occluders': { type: 'boolean', description: 'no glasses, hats, hands, masks' },
  workers: {
    type: 'string',
    value: 'W',
    description: 'render threads',
    default: 'the cores available (up to 8)',
  },
} satisfies Options;

// The library's option names, as the flags that give them: its camelCase names anywhere, and
// the one-word names where a message names an option (not where it counts identities).
function inFlagTerms(message: string): string {
  const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return message
    .replace(/\b(heldOutIdentities|heldOutImages|pairsPerFold)\b/g, flag)
    .replace(
      /\b(for|lower|raise|or) (identities|images|folds|seed|workers)\b/g,
      (_, word: string, name: string) => `${word} ${flag(name)}`,
    );
}

export const synthCommand: Command = {
  name: 'synth',
  summary: 'Generate synthetic identities: a training set and held-out LFW-style pairs',
  usage:
    'sphereface synth --out DIR --identities N --images K [--seed S] [--held-out-identities N]\n' +
    '         [--held-out-images K] [--folds F] [--pairs-per-fold P] [--variation 0..1]\n' +
    '         [--no-occluders] [--workers W] [--json]\n\n' +
    'Writes DIR/train/<Name>/<Name>_0001.jpg (250x250), DIR/lfw/<Name>/... for other people,\n' +
    'DIR/pairs.txt (standard LFW form), DIR/train_landmarks.txt and DIR/lfw_landmarks.txt.\n' +
    'The same seed and settings give byte-identical files; an identical complete set is reused.',
  options: flags,
  async run(values, positionals, out) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const dir = values.out;
    if (typeof dir !== 'string' || dir === '') throw new UsageError('--out DIR is required');
    await checkOutputFolder('out', dir);
    const variation = numberArg(values, 'variation');
    if (variation !== undefined && !(variation >= 0 && variation <= 1)) {
      throw new UsageError(`--variation expects a number in [0, 1], got '${values.variation}'`);
    }
    const seed = intOption(values, 'seed', 0, flags.seed.default);
    if (seed > 0xffffffff) throw new UsageError(`--seed must be below 2^32, got '${values.seed}'`);
    const options = {
      out: dir,
      identities: intOption(values, 'identities', 1),
      images: intOption(values, 'images', 1),
      seed,
      heldOutIdentities: intOption(
        values,
        'held-out-identities',
        2,
        flags['held-out-identities'].default,
      ),
      heldOutImages: intOption(values, 'held-out-images', 2, flags['held-out-images'].default),
      folds: intOption(values, 'folds', 1, flags.folds.default),
      pairsPerFold: intOption(values, 'pairs-per-fold', 1, flags['pairs-per-fold'].default),
      variation,
      occluders: !values['no-occluders'],
      workers: values.workers === undefined ? undefined : intOption(values, 'workers', 1),
    };
    const started = Date.now();
    let result;
    try {
      result = await generateSyntheticFaces({
        ...options,
        onProgress: out.counter('synth'),
      });
    } catch (error) {
      // Impossible fold settings are the user's input: report them as such, in flag terms.
      if (error instanceof RangeError) throw new UsageError(inFlagTerms(error.message));
      throw error;
    }
    const seconds = (Date.now() - started) / 1000;
    out.result({ ...result, seconds });
    const s = result.settings;
    out.line(
      `${result.reused ? 'reused' : 'wrote'} ${s.identities} x ${s.images} training images in ${result.trainDir}`,
    );
    out.line(`${s.heldOutIdentities} x ${s.heldOutImages} held-out images in ${result.lfwDir}`);
    out.line(
      `${s.folds} folds x ${s.pairsPerFold} + ${s.pairsPerFold} pairs in ${result.pairsFile}`,
    );
    out.line(`landmarks in ${result.trainLandmarksFile} and ${result.lfwLandmarksFile}`);
    out.line(`${seconds.toFixed(1)} s`);
    return 0;
  },
};

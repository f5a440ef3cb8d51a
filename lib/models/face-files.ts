// Faces from image files: embeddings of files, and a same/different verdict for two. Files are
// decoded on the data pipeline's worker pool and brought to the model's input by the same
// preprocessing as the training and evaluation sets (aligned on landmarks or a box when given:
// face-location.ts); features follow the evaluator's protocol (default: the image's features
// and its mirror's, concatenated), so a threshold from `LfwEvaluator` (with subtractMean off, as
// here) applies unchanged.
import { BadImageError } from '../data/bad-image-error';
import { checkMaxPixels } from '../data/image-decoder';
import { loadImages } from '../data/load-images';
import { expectPath, fail } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { embedImages, expectEmbedder, type Embedder, type FlipMode } from './embed-images';
import { locateFaces, type Alignment, type FaceLocations } from './face-location';
import { inputTransforms } from './preprocess';
import { expectCosineThreshold } from './threshold';

export interface FileEmbedder extends Embedder {
  readonly inputSize: { height: number; width: number };
  /** A verification threshold stored with the model, used when verify() is given none. */
  readonly threshold?: number;
  /** How the stored threshold was found. */
  readonly thresholdProtocol?: string;
}

export interface EmbedFilesOptions extends FaceLocations {
  flip?: FlipMode; // default 'concat'
  /** Scale each embedding to unit length, so a dot product is the cosine (default true). */
  normalize?: boolean;
  batchSize?: number; // default 64
  /** Called after each batch with the files done so far. */
  onProgress?: (done: number, total: number) => void;
  /** Refuse images over this many pixels, from their headers (default 50 million). */
  maxPixels?: number;
}

const EMBED_FILES_OPTION_KEYS: OptionKeys<EmbedFilesOptions> = {
  flip: true,
  normalize: true,
  batchSize: true,
  onProgress: true,
  maxPixels: true,
  landmarks: true,
  boxes: true,
};

/** verify's options: how to find and embed the two faces, and the threshold. */
export type VerifyOptions = Pick<
  EmbedFilesOptions,
  'flip' | 'landmarks' | 'boxes' | 'maxPixels'
> & {
  threshold?: number;
};

const VERIFY_OPTION_KEYS: OptionKeys<VerifyOptions> = {
  flip: true,
  landmarks: true,
  boxes: true,
  maxPixels: true,
  threshold: true,
};

export interface FileEmbeddings {
  paths: string[];
  embeddings: Float32Array; // paths.length x dim
  dim: number;
  /** Per file: aligned on 'landmarks' or a 'box', or used as a 'pre-aligned' face crop. */
  alignment: Alignment[];
}

/** Who asks, as errors name it: a function, and what it tells the user about a bad image. */
interface Caller {
  name: 'embedFiles' | 'verify';
  badImageHint: string;
}

const EMBED_FILES: Caller = { name: 'embedFiles', badImageHint: 'leave it out of paths' };
// verify compares the two files it was given: there is nothing to skip.
const VERIFY: Caller = { name: 'verify', badImageHint: '' };

async function fileFeatures(
  model: FileEmbedder,
  paths: readonly string[],
  options: EmbedFilesOptions,
  caller: Caller,
) {
  expectEmbedder(model);
  if (!Array.isArray(paths)) fail('an array of file paths', 'paths', paths);
  paths.forEach((p, i) => expectPath(p, `paths[${i}]`));
  const maxPixels = checkMaxPixels(options.maxPixels, caller.name);
  const { points, alignment } = locateFaces(paths, options);
  const { height, width } = model.inputSize;
  const aligned = alignment.some((a) => a !== 'pre-aligned')
    ? inputTransforms(model.inputSize, { aligned: true })
    : [];
  const plain = inputTransforms(model.inputSize);
  const pixels = height * width * 3;
  // Aligned and pre-aligned files take different transforms: each group is decoded in one call.
  const decode = async (start: number, count: number) => {
    const batch = new Uint8Array(count * pixels);
    for (const [group, transforms] of [
      [false, plain],
      [true, aligned],
    ] as const) {
      const rows = [...Array(count).keys()].filter(
        (k) => (points[start + k] !== undefined) === group,
      );
      if (rows.length === 0) continue;
      const set = await loadImages(
        rows.map((k) => paths[start + k]),
        {
          transforms,
          landmarks: group ? rows.map((k) => points[start + k]) : undefined,
          maxPixels,
        },
      ).catch((error: unknown) => {
        throw error instanceof BadImageError
          ? error.withTerms({ skip: caller.badImageHint || undefined, limit: 'maxPixels' })
          : error;
      });
      rows.forEach((k, r) =>
        batch.set(set.images.subarray(r * pixels, (r + 1) * pixels), k * pixels),
      );
    }
    return batch;
  };
  const result = await embedImages(model, paths.length, decode, {
    flip: options.flip,
    batchSize: options.batchSize,
    normalize: options.normalize ?? true,
    onProgress: options.onProgress,
  });
  return { ...result, alignment };
}

export async function embedFiles(
  model: FileEmbedder,
  paths: readonly string[],
  options: EmbedFilesOptions = {},
): Promise<FileEmbeddings> {
  expectOptions(options, 'options', EMBED_FILES_OPTION_KEYS);
  const { features, dim, alignment } = await fileFeatures(model, paths, options, EMBED_FILES);
  return { paths: [...paths], embeddings: Float32Array.from(features), dim, alignment };
}

/** Cosine similarity of two image files' faces (errors name them as verify's a and b). */
export async function fileSimilarity(
  model: FileEmbedder,
  a: string,
  b: string,
  options: Pick<EmbedFilesOptions, 'flip' | 'landmarks' | 'boxes' | 'maxPixels'> = {},
): Promise<number> {
  expectPath(a, 'a');
  expectPath(b, 'b');
  const { features, dim } = await fileFeatures(model, [a, b], options, VERIFY);
  let similarity = 0;
  for (let k = 0; k < dim; k++) similarity += features[k] * features[dim + k];
  return clampCosine(similarity);
}

/** A dot product of unit-length features as a cosine: rounding can carry it past +-1. */
export function clampCosine(dot: number): number {
  return Math.min(1, Math.max(-1, dot));
}

export interface Verdict {
  /** Cosine similarity of the two faces' embeddings. */
  similarity: number;
  /** similarity > threshold (the evaluator's rule). */
  same: boolean;
  threshold: number;
  /** Where the threshold came from: the options, or the one stored with the model. */
  thresholdSource: 'given' | 'stored';
  /** For a stored threshold: the protocol that found it. */
  protocol?: string;
}

export async function verify(
  model: FileEmbedder,
  a: string,
  b: string,
  options: VerifyOptions = {},
): Promise<Verdict> {
  expectEmbedder(model);
  expectPath(a, 'a');
  expectPath(b, 'b');
  expectOptions(options, 'options', VERIFY_OPTION_KEYS);
  const given = options.threshold !== undefined;
  if (given) expectCosineThreshold(options.threshold);
  const threshold = given ? options.threshold : model.threshold;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new Error(
      'Expected a finite number for threshold: pass { threshold } (e.g. the mean threshold an evaluation reported) or use a model with a stored one',
    );
  }
  // A stored threshold was found on concatenated image + mirror features (eval --save-threshold).
  if (!given && (options.flip ?? 'concat') !== 'concat') {
    throw new Error(
      `the stored threshold applies to flip 'concat' features, not '${options.flip}': pass { threshold }`,
    );
  }
  const similarity = await fileSimilarity(model, a, b, options);
  const source = given
    ? { thresholdSource: 'given' as const }
    : { thresholdSource: 'stored' as const, protocol: model.thresholdProtocol };
  return { similarity, same: similarity > threshold, threshold, ...source };
}

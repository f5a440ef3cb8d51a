// Faces from image files for users: embeddings of files, and a same/different verdict for two.
// Embeddings follow the evaluator's feature protocol (default: the image's features and its
// mirror's, concatenated) so a threshold from `LfwEvaluator` (with subtractMean off, as here)
// applies unchanged.
import { loadImages } from '../data/load-images';
import { faceImageTransforms } from './decode-face-image';
import type { Embedder } from './embedder';
import { flipImagesHorizontally } from './flip-images';
import type { FlipMode } from './protocol';

export interface FileEmbedder extends Embedder {
  readonly inputSize: { height: number; width: number };
  /** A verification threshold stored with the model, used when verify() is given none. */
  readonly threshold?: number;
}

export interface EmbedFilesOptions {
  flip?: FlipMode; // default 'concat'
  /** Scale each embedding to unit length, so a dot product is the cosine (default true). */
  normalize?: boolean;
  batchSize?: number; // default 64
  /**
   * Replaces the built-in decoding (the data pipeline's decoder on a worker pool, then
   * `faceImageTransforms`: shorter side resized to cover the input, centre crop).
   */
  decode?: (file: string, height: number, width: number) => Promise<Uint8Array>;
  /** Refuse images over this many pixels, from their headers (default 50 million). */
  maxPixels?: number;
}

export interface FileEmbeddings {
  paths: string[];
  embeddings: Float32Array; // paths.length x dim
  dim: number;
}

export async function embedFiles(
  model: FileEmbedder,
  paths: readonly string[],
  options: EmbedFilesOptions = {},
): Promise<FileEmbeddings> {
  const flip = options.flip ?? 'concat';
  if (flip !== 'concat' && flip !== 'sum' && flip !== 'none') {
    throw new Error(`Expected 'concat', 'sum' or 'none' for flip but received ${String(flip)}`);
  }
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Expected positive integer for batchSize but received ${batchSize}`);
  }
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string')) {
    throw new Error('Expected an array of file paths for paths');
  }
  const { height, width } = model.inputSize;
  const pixels = height * width * 3;
  // Files decode on the data pipeline's shared decode pool (warm across calls), never on this
  // thread, however few there are.
  const custom = options.decode;
  const transforms = faceImageTransforms(height, width);
  const decodeBatch = async (batchPaths: string[], images: Uint8Array) => {
    if (custom) {
      const decoded = await Promise.all(batchPaths.map((p) => custom(p, height, width)));
      decoded.forEach((img, i) => {
        if (img.length !== pixels) {
          throw new Error(`Expected ${height}x${width}x3 bytes from decode() for ${batchPaths[i]}`);
        }
        images.set(img, i * pixels);
      });
    } else {
      const set = await loadImages(batchPaths, {
        transforms,
        progress: false,
        maxPixels: options.maxPixels,
      });
      images.set(set.images);
    }
  };
  return embedDecoded(model, paths, flip, batchSize, options.normalize ?? true, decodeBatch);
}

async function embedDecoded(
  model: FileEmbedder,
  paths: readonly string[],
  flip: FlipMode,
  batchSize: number,
  normalize: boolean,
  decodeBatch: (batchPaths: string[], images: Uint8Array) => Promise<void>,
): Promise<FileEmbeddings> {
  const { height, width } = model.inputSize;
  const d = model.embeddingDim;
  const dim = flip === 'concat' ? 2 * d : d;
  const pixels = height * width * 3;
  const embeddings = new Float32Array(paths.length * dim);

  for (let start = 0; start < paths.length; start += batchSize) {
    const batchPaths = paths.slice(start, start + batchSize);
    const count = batchPaths.length;
    const images = new Uint8Array(count * pixels);
    await decodeBatch(batchPaths, images);
    const plain = await model.embed(images, count);
    const mirrored =
      flip === 'none'
        ? undefined
        : await model.embed(flipImagesHorizontally(images, count, height, width), count);
    for (const out of [plain, mirrored]) {
      if (out && out.length !== count * d) {
        throw new Error(
          `Expected ${count} x ${d} features from embed() but received ${out.length}`,
        );
      }
    }
    for (let i = 0; i < count; i++) {
      const row = (start + i) * dim;
      for (let k = 0; k < d; k++) {
        if (!mirrored) embeddings[row + k] = plain[i * d + k];
        else if (flip === 'sum') embeddings[row + k] = plain[i * d + k] + mirrored[i * d + k];
        else {
          embeddings[row + k] = plain[i * d + k];
          embeddings[row + d + k] = mirrored[i * d + k];
        }
      }
      if (normalize) {
        let sq = 0;
        for (let k = 0; k < dim; k++) sq += embeddings[row + k] ** 2;
        const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
        for (let k = 0; k < dim; k++) embeddings[row + k] *= inv;
      }
    }
  }
  return { paths: [...paths], embeddings, dim };
}

export interface Verdict {
  /** Cosine similarity of the two faces' embeddings. */
  similarity: number;
  /** similarity > threshold (the evaluator's rule). */
  same: boolean;
  threshold: number;
}

export async function verify(
  model: FileEmbedder,
  a: string,
  b: string,
  options: Omit<EmbedFilesOptions, 'normalize' | 'batchSize'> & { threshold?: number } = {},
): Promise<Verdict> {
  const threshold = options.threshold ?? model.threshold;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    throw new Error(
      'Expected a finite number for threshold: pass { threshold } (e.g. the mean threshold an evaluation reported) or use a model with a stored one',
    );
  }
  const { embeddings, dim } = await embedFiles(model, [a, b], { ...options, normalize: false });
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < dim; k++) {
    dot += embeddings[k] * embeddings[dim + k];
    aa += embeddings[k] ** 2;
    bb += embeddings[dim + k] ** 2;
  }
  const similarity = aa > 0 && bb > 0 ? dot / Math.sqrt(aa * bb) : 0;
  return { similarity, same: similarity > threshold, threshold };
}

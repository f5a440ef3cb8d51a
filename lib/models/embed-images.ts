// The one loop that turns images into face features: batches through a model's embed, the
// horizontal mirror through the same call's flip mask (mirrored natively by a model), and the
// two combined as the verification protocol says. The evaluator and file embedding both use it.
import { describeReceived } from '../util/describe-received';
import { fail } from '../util/expect';

/** How an image's horizontal mirror enters its features. */
export type FlipMode = 'concat' | 'sum' | 'none';

export const FLIP_MODES: readonly FlipMode[] = ['concat', 'sum', 'none'];

/** Anything that embeds images: a FaceModel, or the raw-pixel baseline. */
export interface Embedder {
  readonly embeddingDim: number;
  /** When present, images must have this size. */
  readonly inputSize?: { height: number; width: number };
  /**
   * A mirrored image's features are its own, permuted (raw pixels): appended, they double every
   * dot product and change no cosine, so an evaluation under 'concat' leaves them out.
   */
  readonly mirrorPermutesFeatures?: boolean;
  /** n x embeddingDim features of uint8 n x H x W x 3 RGB images; `flip` mirrors image i where flip[i] != 0. */
  embed(images: Uint8Array, n: number, flip?: Uint8Array): Promise<Float32Array>;
  /**
   * Keeps the embedder from being freed while `user` works across several embed calls (a Model's
   * dispose() refuses meanwhile); returns the release.
   */
  hold?(user: string): () => void;
}

export interface EmbedImagesOptions {
  /** 'concat' (default): image then mirror; 'sum': their sum; 'none': the image alone. */
  flip?: FlipMode;
  /** Images per embed call (default 64). */
  batchSize?: number;
  /** Scale each row to unit length, so a dot product is the cosine (default false). */
  normalize?: boolean;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** A model or anything else with `embed` and `embeddingDim` (named `model` in errors). */
export function expectEmbedder(model: unknown): Embedder {
  const m = model as Partial<Embedder> | null | undefined;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.embed !== 'function' ||
    !(Number.isInteger(m.embeddingDim) && (m.embeddingDim as number) > 0)
  ) {
    fail('a model (an object with embed() and embeddingDim)', 'model', model);
  }
  return m as Embedder;
}

export function checkFlipMode(flip: unknown): FlipMode {
  if (!(FLIP_MODES as readonly unknown[]).includes(flip)) {
    throw new Error(
      `Expected 'concat', 'sum' or 'none' for flip but received ${describeReceived(flip)}`,
    );
  }
  return flip as FlipMode;
}

/** The features' length per image for a model and a flip mode. */
export function featureDim(model: Embedder, flip: FlipMode): number {
  return flip === 'concat' ? 2 * model.embeddingDim : model.embeddingDim;
}

/**
 * Features of n images (uint8 n x H x W x 3) as float64 n x featureDim, combined per `flip`.
 * `images` may be produced batch by batch: `images(start, count)` returns those images.
 */
export async function embedImages(
  model: Embedder,
  n: number,
  images: (start: number, count: number) => Uint8Array | Promise<Uint8Array>,
  options: EmbedImagesOptions = {},
): Promise<{ features: Float64Array; dim: number }> {
  expectEmbedder(model);
  const flip = checkFlipMode(options.flip ?? 'concat');
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Expected positive integer for batchSize but received ${batchSize}`);
  }
  const d = model.embeddingDim;
  const dim = featureDim(model, flip);
  const features = new Float64Array(n * dim);
  const mirrorAll = new Uint8Array(Math.min(n, batchSize)).fill(1);
  const embed = async (batch: Uint8Array, count: number, mask?: Uint8Array) => {
    const out = await model.embed(batch, count, mask);
    if (out.length !== count * d) {
      throw new Error(`Expected ${count} x ${d} features from embed() but received ${out.length}`);
    }
    return out;
  };
  // Decoding between the embed calls leaves none queued: without the hold a dispose() then would
  // free the model under the next batch.
  const release = model.hold?.('an embedFiles, verify, gallery or evaluation call');
  try {
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const batch = await images(start, count);
      const plain = await embed(batch, count);
      const mirrored =
        flip === 'none' ? undefined : await embed(batch, count, mirrorAll.subarray(0, count));
      for (let i = 0; i < count; i++) {
        const row = (start + i) * dim;
        for (let k = 0; k < d; k++) {
          const f = plain[i * d + k];
          if (!mirrored) features[row + k] = f;
          else if (flip === 'sum') features[row + k] = f + mirrored[i * d + k];
          else {
            features[row + k] = f;
            features[row + d + k] = mirrored[i * d + k];
          }
        }
        if (options.normalize) normalizeRow(features, row, dim);
      }
      options.onProgress?.(start + count, n);
      // An embedder that computes on this thread (raw pixels) resolves at once: the loop gets a
      // turn between batches all the same.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    release?.();
  }
  return { features, dim };
}

function normalizeRow(features: Float64Array, row: number, dim: number): void {
  let sq = 0;
  for (let k = 0; k < dim; k++) sq += features[row + k] ** 2;
  const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
  for (let k = 0; k < dim; k++) features[row + k] *= inv;
}

// What the evaluator needs from a model: FaceModel satisfies it, and so does the raw-pixel
// baseline below (which says how much of a verification figure the network adds).

export interface Embedder {
  readonly embeddingDim: number;
  /** When present, images must have this size. */
  readonly inputSize?: { height: number; width: number };
  /** n x embeddingDim features for uint8 n x H x W x 3 RGB images. */
  embed(images: Uint8Array, n: number): Promise<Float32Array>;
}

/**
 * Pixels as the feature vector: (p - 127.5) / 128, the normalisation the nets see, so cosine
 * similarity of these vectors is "raw-pixel cosine", the floor a trained model must beat.
 */
export function rawPixelEmbedder(
  height: number,
  width: number,
): Embedder & { readonly inputSize: { height: number; width: number } } {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`Expected positive integer for ${name} but received ${v}`);
    }
  }
  const dim = height * width * 3;
  return {
    embeddingDim: dim,
    inputSize: { height, width },
    embed(images: Uint8Array, n: number): Promise<Float32Array> {
      if (images.length !== n * dim) {
        return Promise.reject(
          new Error(
            `Expected ${n} x ${height} x ${width} x 3 = ${n * dim} bytes but received ${images.length}`,
          ),
        );
      }
      const out = new Float32Array(n * dim);
      for (let i = 0; i < out.length; i++) out[i] = (images[i] - 127.5) / 128;
      return Promise.resolve(out);
    },
  };
}

// The models' defaults, each stated once: TypeScript fills them in and passes every field to the
// native addon, which has none of its own.

/** SGD as in the paper: momentum 0.9, weight decay 5e-4, plain (not Nesterov) momentum. */
export const SGD_DEFAULTS = { momentum: 0.9, weightDecay: 5e-4, nesterov: false } as const;

/** Input normalisation (x - mean) / std of the uint8 pixels, as the original SphereFace. */
export const NORMALISATION = { mean: 127.5, std: 128 } as const;

/** Length of a face embedding (the nets' fc layer). */
export const EMBEDDING_DIM = 512;

// Shapes shared by the data pipeline, the trainer and the evaluator.

/** Far more identities than any face dataset has: a guard against a damaged label or list. */
export const MAX_CLASSES = 1 << 24;

/** Decoded, preprocessed images held in memory: uint8 n x height x width x 3, RGB. */
export interface ImageSet {
  images: Uint8Array;
  n: number;
  height: number;
  width: number;
  labels?: Int32Array; // n, when the images belong to identities
}

/** One training batch; arrays are views into the loader's buffers where possible. */
export interface Batch {
  images: Uint8Array; // n x height x width x 3
  labels: Int32Array; // n
  flip: Uint8Array; // n, nonzero = mirror horizontally (decided by the loader, seeded)
  n: number;
}

/**
 * Batches for training. Deterministic for a given seed: the order of epoch e and the random
 * augmentation of batch b depend only on (seed, e, b), so a run resumes from (epoch, batch).
 */
export interface BatchSource {
  readonly classes: number;
  readonly batchesPerEpoch: number;
  readonly height: number;
  readonly width: number;
  /** Distributed: the rank whose part of each batch this source serves, of worldSize. */
  readonly rank?: number;
  readonly worldSize?: number;
  /** What decides the batches besides the data, for a checkpoint to record. */
  readonly settings?: BatchSettings;
  /** What the labels say, for a checkpoint to record: a resume on data labelled otherwise is refused. */
  readonly labelling?: Labelling;
  batches(epoch: number, startBatch?: number): AsyncIterable<Batch>;
}

/**
 * A loader's order and augmentation settings, as plain data: a checkpoint records them, so a
 * resume that changes one (say, drops the flip) says so.
 */
export interface BatchSettings {
  seed: number;
  shuffle: boolean;
  dropLast: boolean;
  /** CenterCrop's [height, width], or false without one. */
  centerCrop: [number, number] | false;
  randomCrop: { height: number; width: number; padding: number } | false;
  /** RandomHorizontalFlip's probability; 0 without one. */
  flip: number;
}

/**
 * A training set's labels in brief: its image and class counts, and a digest of every image's
 * label and of the class names (a store's), which change when identities are added, removed or
 * renumbered.
 */
export interface Labelling {
  images: number;
  classes: number;
  /** sha256, hex, of the labels (int32 little-endian) and the class names' JSON. */
  digest: string;
}

/** One verification pair: indices into the unique image list, in pairs-file order. */
export interface VerificationPair {
  a: number;
  b: number;
  same: boolean;
  fold: number; // 0-based; standard pairs.txt fold i holds file lines 600i+2..600i+601
  line: number; // 1-based line in the pairs file
}

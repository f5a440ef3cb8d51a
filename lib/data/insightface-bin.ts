// insightface's verification sets (lfw.bin, cfp_fp.bin, agedb_30.bin, ...; the file format is in
// formats/verification-bin.ts) loaded for LfwEvaluator. Their evaluation (recognition/arcface_torch/eval/verification.py) splits the
// pairs into ten folds with sklearn's KFold(n_splits=10, shuffle=False): consecutive runs, the
// first n % 10 of them one pair longer.
import * as path from 'node:path';
import type { VerificationBin } from './formats/verification-bin';
import { pairsOfLoadedImages, type SkippedPair } from './loaded-pairs';
import { loadImages, type LoadedImages, type OnBadImage } from './load-images';
import { runOnOwnWorker } from '../util/worker-pool';
import type { DecodePool } from './decode-pool';
import type { DeterministicTransform } from './transforms/transform';
import type { VerificationPair } from './types';
import { expectPath } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';

/** The folds of insightface's evaluation. */
export const BIN_FOLDS = 10;

/**
 * Reads and parses a verification .bin (the whole file: its images are all needed) on a worker
 * thread: unpickling lfw.bin's 12,000 images takes about 0.2 s, which would hold the event loop.
 */
export async function readVerificationBin(file: string): Promise<VerificationBin> {
  const [bin] = await runOnOwnWorker<string, VerificationBin>(
    path.join(__dirname, 'formats', 'verification-bin-worker.js'),
    [file],
    { name: 'readVerificationBin' },
  );
  return bin;
}

/**
 * Pairs (2i, 2i+1) in `folds` consecutive folds as sklearn's KFold without shuffling makes
 * them: n // folds pairs each, the first n % folds folds one more.
 */
export function binPairs(same: readonly boolean[], folds = BIN_FOLDS): VerificationPair[] {
  if (!Number.isInteger(folds) || folds < 2) {
    throw new RangeError(`Expected an integer >= 2 for folds but received ${folds}`);
  }
  const n = same.length;
  if (n < folds) throw new Error(`${folds} folds need at least ${folds} pairs but there are ${n}`);
  const pairs: VerificationPair[] = [];
  for (let fold = 0, i = 0; fold < folds; fold++) {
    const size = Math.floor(n / folds) + (fold < n % folds ? 1 : 0);
    for (let k = 0; k < size; k++, i++) {
      pairs.push({ a: 2 * i, b: 2 * i + 1, same: same[i], fold, line: i + 1 });
    }
  }
  return pairs;
}

export interface LoadVerificationBinOptions {
  /** Run on every decoded image (e.g. the centre crop to a model's input). */
  transforms?: readonly DeterministicTransform[];
  /** Folds of the protocol (default 10, as insightface). */
  folds?: number;
  /** Decode threads, or a pool of your own (as loadImages). */
  threads?: number;
  pool?: DecodePool;
  /** Called as images are decoded, with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Refuse images over this many pixels, from their headers (default 50 million). */
  maxPixels?: number;
  /** 'skip' leaves out the pairs of images that cannot be decoded; 'error' (default) throws. */
  onBadImage?: OnBadImage;
}

const BIN_OPTION_KEYS: OptionKeys<LoadVerificationBinOptions> = {
  transforms: true,
  folds: true,
  threads: true,
  pool: true,
  onProgress: true,
  maxPixels: true,
  onBadImage: true,
};

export interface LoadedVerificationBin {
  /** Decoded and transformed images, in file order (bad ones left out with onBadImage 'skip'). */
  images: LoadedImages;
  /** Pair i of the file has line i + 1; its images index `images`. */
  pairs: VerificationPair[];
  /** Pairs left out for an image that could not be decoded (onBadImage: 'skip'). */
  skippedPairs: SkippedPair[];
  file: string;
}

/**
 * Loads a verification .bin for LfwEvaluator: images decoded on the worker pool (each named
 * `file#index` in errors; a bad image is an error unless onBadImage is 'skip'), pairs in
 * insightface's ten folds.
 */
export async function loadVerificationBin(
  file: string,
  options: LoadVerificationBinOptions = {},
): Promise<LoadedVerificationBin> {
  const resolved = path.resolve(expectPath(file, 'file', 'a .bin file path'));
  expectOptions(options, 'options', BIN_OPTION_KEYS);
  const bin = await readVerificationBin(resolved);
  let pairs: VerificationPair[];
  try {
    pairs = binPairs(bin.same, options.folds);
  } catch (err) {
    throw new Error(`${resolved}: ${(err as Error).message}`);
  }
  const names = bin.images.map((_, i) => `${resolved}#${i}`);
  const images = await loadImages(names, {
    bytes: bin.images,
    transforms: options.transforms,
    threads: options.threads,
    pool: options.pool,
    onProgress: options.onProgress,
    maxPixels: options.maxPixels,
    onBadImage: options.onBadImage,
  });
  const kept = pairsOfLoadedImages(pairs, images, (i) => names[i], names.length);
  return { images, pairs: kept.pairs, skippedPairs: kept.skippedPairs, file: resolved };
}

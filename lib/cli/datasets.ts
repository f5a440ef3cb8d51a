// Loading the CLI's datasets: the training images as an on-disk image store, and a held-out
// LFW-layout set with its pairs through the decode pool and the cache, preprocessed for the arch,
// or an insightface verification .bin.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { expectInput } from '../util/regular-file';
import * as path from 'node:path';
import { LandmarksFile } from '../data/landmarks-file';
import type { SkippedImage } from '../data/image-cache';
import { loadVerificationBin } from '../data/insightface-bin';
import type { LoadedImages } from '../data/load-images';
import { LfwDataset } from '../data/lfw-dataset';
import { openImageStore, type ImageStore } from '../data/store/image-store';
import { MANIFEST_FILE } from '../data/store/manifest';
import { prepareImageStore, type PrepareEvent } from '../data/store/prepare-image-store';
import type { VerificationPair } from '../data/types';
import { inputSizeOf } from '../models/archs';
import { inputTransforms } from '../models/preprocess';
import type { Arch } from '../models/types';
import type { Output } from './output';

function mustExist(kind: string, file: string | undefined): void {
  if (file !== undefined) expectInput(file, kind);
}

export interface LoadOptions {
  landmarks?: string;
  cacheDir?: string;
  /** --skip-bad-images: leave out images that cannot be decoded (and their pairs). */
  skipBadImages?: boolean;
  /** --max-pixels: refuse larger images before decoding. */
  maxPixels?: number;
  onProgress?: (done: number, total: number) => void;
  /** The training set's store preparation, event by event (storeProgress). */
  onStoreEvent?: (event: PrepareEvent) => void;
  /**
   * A distributed rank other than 0: open the training store that rank 0 has prepared (or
   * checked) already, without preparing it again or reading every shard.
   */
  preparedElsewhere?: boolean;
  /** Stops the training store's preparation (its finished shards kept). */
  signal?: AbortSignal;
}

export interface TrainSet {
  images: ImageStore;
  classes: number;
  classNames: readonly string[];
}

/**
 * Where training folder or .rec `root` is prepared into a store for an input size: one store per
 * source (named by a digest of its absolute path), so that runs on other data sharing the cache
 * folder do not replace each other's.
 */
export function preparedStoreDir(
  cacheDir: string | undefined,
  root: string,
  size: { height: number; width: number },
  aligned: boolean,
): string {
  const source = path.resolve(root);
  const digest = crypto.createHash('sha256').update(source).digest('hex').slice(0, 12);
  const stem = path.basename(source).slice(0, 64);
  const name = `train-${stem}-${digest}-${size.height}x${size.width}${aligned ? '-aligned' : ''}`;
  return path.join(cacheDir ?? 'cache', name);
}

/** Whether `root` is a prepared image store (it has a manifest), not a folder of images. */
export function isImageStore(root: string): boolean {
  return fs.existsSync(path.join(root, MANIFEST_FILE));
}

/**
 * The training images as an image store: `root` is a store (it has a manifest) opened as it is,
 * or a folder per identity prepared for the arch into a store under the cache folder first
 * (resumed, checked and reused by later runs).
 */
export async function loadTrainSet(
  root: string,
  arch: Arch,
  options: LoadOptions,
): Promise<TrainSet> {
  mustExist('training folder', root);
  mustExist('landmark file', options.landmarks);
  const onEvent = options.onStoreEvent;
  const size = inputSizeOf(arch);
  const aligned = options.landmarks !== undefined;
  const given = isImageStore(root);
  let images: ImageStore;
  if (given || options.preparedElsewhere) {
    const dir = given ? root : preparedStoreDir(options.cacheDir, root, size, aligned);
    images = await openImageStore(dir, {
      verify: !options.preparedElsewhere,
      onVerify: (checked, total) => onEvent?.({ type: 'verify', checked, total }),
    }).catch((error: Error) => {
      if (given) throw error;
      // Rank 0 prepared the store under its own --cache (or --out): this rank looks there too.
      throw new Error(
        `${error.message} (rank 0 prepares the training store there; every rank needs the ` +
          'same --data and the same --cache, or --out, path)',
      );
    });
  } else {
    images = await prepareImageStore({
      source: root,
      out: preparedStoreDir(options.cacheDir, root, size, aligned),
      // A cache: the store of another --data there is replaced, not kept.
      replaceOtherStore: true,
      transforms: inputTransforms(size, { aligned }),
      landmarks: options.landmarks,
      onBadImage: options.skipBadImages ? 'skip' : 'error',
      maxPixels: options.maxPixels,
      onProgress: onEvent,
      signal: options.signal,
    });
  }
  if (images.classes < 2) {
    images.close();
    throw new Error(
      `training data ${root} holds ${images.classes} identity; a classifier needs at least 2`,
    );
  }
  return { images, classes: images.classes, classNames: images.classNames };
}

export interface HeldOutSet {
  images: LoadedImages;
  pairs: VerificationPair[];
  /** Pairs left out for a missing or bad image (with --skip-bad-images). */
  skippedPairs: number;
}

/** How many held-out pairs --skip-bad-images left out, as a line (none when none were). */
export function skippedPairsNotes(set: HeldOutSet): string[] {
  if (set.skippedPairs === 0) return [];
  return [`skipped ${set.skippedPairs} pairs with a missing or undecodable image`];
}

/** Says how many held-out pairs --skip-bad-images left out, if any. */
export function noteSkippedPairs(out: Output, set: HeldOutSet): void {
  for (const note of skippedPairsNotes(set)) out.note(note);
}

/** What a summary records of a held-out set: its pairs, and those left out. */
export function heldOutRecord(set: HeldOutSet) {
  return {
    pairs: set.pairs.length,
    skippedPairs: set.skippedPairs,
    skippedImages: set.images.skipped.length,
  };
}

/** A line for people about what --skip-bad-images left out, or undefined when nothing was. */
export function skippedNote(
  images: { skipped: readonly SkippedImage[] },
  what: string,
): string | undefined {
  const first = images.skipped[0];
  if (!first) return undefined;
  return `skipped ${images.skipped.length} ${what} that could not be decoded (the first: ${first.path}: ${first.reason})`;
}

export async function loadHeldOut(
  root: string,
  pairsFile: string,
  arch: Arch,
  options: LoadOptions,
): Promise<HeldOutSet> {
  mustExist('LFW folder', root);
  mustExist('pairs file', pairsFile);
  mustExist('landmark file', options.landmarks);
  const onBadImage = options.skipBadImages ? 'skip' : 'error';
  const lfw = new LfwDataset(root, pairsFile, { onBadImage });
  const landmarks = options.landmarks
    ? new LandmarksFile(options.landmarks).forPaths(lfw.root, lfw.images)
    : undefined;
  const loaded = await lfw.load({
    transforms: inputTransforms(inputSizeOf(arch), { aligned: landmarks !== undefined }),
    landmarks,
    cacheDir: options.cacheDir,
    cacheName: 'held-out',
    onBadImage,
    maxPixels: options.maxPixels,
    onProgress: options.onProgress,
  });
  return {
    images: loaded.images,
    pairs: loaded.pairs,
    skippedPairs: lfw.skipped.length + loaded.skippedPairs.length,
  };
}

/**
 * An insightface verification .bin, its images preprocessed for a model's input (or left as
 * they are, for the raw-pixel floor alone).
 */
export async function loadBinHeldOut(
  binFile: string,
  inputSize: { height: number; width: number } | undefined,
  options: LoadOptions,
): Promise<HeldOutSet> {
  mustExist('verification file', binFile);
  const loaded = await loadVerificationBin(binFile, {
    transforms: inputSize ? inputTransforms(inputSize) : [],
    onBadImage: options.skipBadImages ? 'skip' : 'error',
    maxPixels: options.maxPixels,
    onProgress: options.onProgress,
  });
  return {
    images: loaded.images,
    pairs: loaded.pairs,
    skippedPairs: loaded.skippedPairs.length,
  };
}

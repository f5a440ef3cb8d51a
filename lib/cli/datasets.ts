// Loading the CLI's datasets: a training folder and a held-out LFW-layout set with its pairs,
// each through the decode pool and the on-disk cache, preprocessed for the arch.
import * as fs from 'node:fs';
import { BadImageError } from '../data/bad-image-error';
import { ImageFolderDataset, type SkippedEntry } from '../data/image-folder-dataset';
import { LandmarksFile } from '../data/landmarks-file';
import type { LoadedImages } from '../data/load-images';
import { LfwDataset } from '../data/lfw-dataset';
import type { VerificationPair } from '../data/types';
import { inputSizeOf } from '../models/archs';
import { inputTransforms } from '../models/preprocess';
import type { Arch } from '../models/types';

function mustExist(kind: string, file: string | undefined): void {
  if (file !== undefined && !fs.existsSync(file)) throw new Error(`${kind} ${file} does not exist`);
}

export interface LoadOptions {
  landmarks?: string;
  cacheDir?: string;
  /** --skip-bad-images: leave out images that cannot be decoded (and their pairs). */
  skipBadImages?: boolean;
  /** --max-pixels: refuse larger images before decoding. */
  maxPixels?: number;
  onProgress?: (done: number, total: number) => void;
}

// Bad images end the command unless --skip-bad-images; the message names the flag.
async function withFlagHint<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof BadImageError) {
      throw error.withHint('pass --skip-bad-images to leave them out');
    }
    throw error;
  }
}

export interface TrainSet {
  images: LoadedImages;
  classes: number;
  classNames: string[];
  /** What the folder scan left out (special files, folder links it does not follow). */
  leftOut: SkippedEntry[];
}

export async function loadTrainSet(
  root: string,
  arch: Arch,
  options: LoadOptions,
): Promise<TrainSet> {
  mustExist('training folder', root);
  mustExist('landmark file', options.landmarks);
  const folder = new ImageFolderDataset(root);
  const landmarks = options.landmarks
    ? new LandmarksFile(options.landmarks).forPaths(folder.root, folder.paths)
    : undefined;
  const images = await withFlagHint(() =>
    folder.load({
      transforms: inputTransforms(inputSizeOf(arch), { aligned: landmarks !== undefined }),
      landmarks,
      cacheDir: options.cacheDir,
      cacheName: 'train',
      onBadImage: options.skipBadImages ? 'skip' : 'error',
      maxPixels: options.maxPixels,
      onProgress: options.onProgress,
    }),
  );
  return {
    images,
    classes: folder.classes,
    classNames: folder.classNames,
    leftOut: folder.skipped,
  };
}

export interface HeldOutSet {
  images: LoadedImages;
  pairs: VerificationPair[];
  /** Pairs left out for a missing or bad image (with --skip-bad-images). */
  skippedPairs: number;
}

/** A line for people about what --skip-bad-images left out, or undefined when nothing was. */
export function skippedNote(images: LoadedImages, what: string): string | undefined {
  const first = images.skipped[0];
  if (!first) return undefined;
  return `skipped ${images.skipped.length} ${what} that could not be decoded (the first: ${first.path}: ${first.reason})`;
}

/** A line for people about what the training folder's scan left out, or undefined. */
export function leftOutNote(leftOut: readonly SkippedEntry[]): string | undefined {
  const first = leftOut[0];
  if (!first) return undefined;
  return `left out ${leftOut.length} entries of the training folder (the first: ${first.path}: ${first.reason})`;
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
  const loaded = await withFlagHint(() =>
    lfw.load({
      transforms: inputTransforms(inputSizeOf(arch), { aligned: landmarks !== undefined }),
      landmarks,
      cacheDir: options.cacheDir,
      cacheName: 'held-out',
      onBadImage,
      maxPixels: options.maxPixels,
      onProgress: options.onProgress,
    }),
  );
  return {
    images: loaded.images,
    pairs: loaded.pairs,
    skippedPairs: lfw.skipped.length + loaded.skippedPairs.length,
  };
}

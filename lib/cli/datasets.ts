// Loading the CLI's datasets: the training images as an on-disk image store, and a held-out
// LFW-layout set with its pairs through the decode pool and the cache, preprocessed for the arch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LandmarksFile } from '../data/landmarks-file';
import type { LoadedImages } from '../data/load-images';
import { LfwDataset } from '../data/lfw-dataset';
import { openImageStore, type ImageStore } from '../data/store/image-store';
import { MANIFEST_FILE } from '../data/store/manifest';
import { prepareImageStore } from '../data/store/prepare-image-store';
import type { VerificationPair } from '../data/types';
import { inputSizeOf } from '../models/archs';
import type { Arch } from '../models/types';
import { preprocessFor } from './preprocess';
import { storeProgress } from './store-progress';

function mustExist(kind: string, file: string | undefined): void {
  if (file !== undefined && !fs.existsSync(file)) throw new Error(`${kind} ${file} does not exist`);
}

export interface TrainSet {
  images: ImageStore;
  classes: number;
  classNames: readonly string[];
}

/**
 * The training images as an image store: `root` is a store (it has a manifest) opened as it is,
 * or a folder per identity prepared for the arch into a store under the cache folder first
 * (resumed, checked and reused by later runs).
 */
export async function loadTrainSet(
  root: string,
  arch: Arch,
  options: { landmarks?: string; cacheDir?: string; progress?: boolean },
): Promise<TrainSet> {
  mustExist('training folder', root);
  mustExist('landmark file', options.landmarks);
  const onProgress = options.progress === false ? undefined : storeProgress();
  let images: ImageStore;
  if (fs.existsSync(path.join(root, MANIFEST_FILE))) {
    images = await openImageStore(root, {
      onVerify: (checked, total) => onProgress?.({ type: 'verify', checked, total }),
    });
  } else {
    const { height, width } = inputSizeOf(arch);
    const aligned = options.landmarks !== undefined;
    images = await prepareImageStore({
      source: root,
      out: path.join(
        options.cacheDir ?? 'cache',
        `train-${height}x${width}${aligned ? '-aligned' : ''}`,
      ),
      transforms: preprocessFor(arch, aligned),
      landmarks: options.landmarks,
      onProgress,
    });
  }
  return { images, classes: images.classes, classNames: images.classNames };
}

export interface HeldOutSet {
  images: LoadedImages;
  pairs: VerificationPair[];
}

export async function loadHeldOut(
  root: string,
  pairsFile: string,
  arch: Arch,
  options: { landmarks?: string; cacheDir?: string; progress?: boolean },
): Promise<HeldOutSet> {
  mustExist('LFW folder', root);
  mustExist('pairs file', pairsFile);
  mustExist('landmark file', options.landmarks);
  const lfw = new LfwDataset(root, pairsFile);
  const landmarks = options.landmarks
    ? new LandmarksFile(options.landmarks).forPaths(lfw.root, lfw.images)
    : undefined;
  const loaded = await lfw.load({
    transforms: preprocessFor(arch, landmarks !== undefined),
    landmarks,
    cacheDir: options.cacheDir,
    cacheName: 'held-out',
    progress: options.progress === false ? false : undefined,
  });
  return { images: loaded.images, pairs: loaded.pairs };
}

// Loading the CLI's datasets: a training folder and a held-out LFW-layout set with its pairs,
// each through the decode pool and the on-disk cache, preprocessed for the arch.
import * as fs from 'node:fs';
import { ImageFolderDataset } from '../data/image-folder-dataset';
import { LandmarksFile } from '../data/landmarks-file';
import type { LoadedImages } from '../data/load-images';
import { LfwDataset } from '../data/lfw-dataset';
import type { VerificationPair } from '../data/types';
import type { Arch } from '../models/types';
import { preprocessFor } from './preprocess';

function mustExist(kind: string, file: string | undefined): void {
  if (file !== undefined && !fs.existsSync(file)) throw new Error(`${kind} ${file} does not exist`);
}

export interface TrainSet {
  images: LoadedImages;
  classes: number;
  classNames: string[];
}

export async function loadTrainSet(
  root: string,
  arch: Arch,
  options: { landmarks?: string; cacheDir?: string; progress?: boolean; maxPixels?: number },
): Promise<TrainSet> {
  mustExist('training folder', root);
  mustExist('landmark file', options.landmarks);
  const folder = new ImageFolderDataset(root);
  const landmarks = options.landmarks
    ? new LandmarksFile(options.landmarks).forPaths(folder.root, folder.paths)
    : undefined;
  const images = await folder.load({
    transforms: preprocessFor(arch, landmarks !== undefined),
    landmarks,
    cacheDir: options.cacheDir,
    cacheName: 'train',
    progress: options.progress === false ? false : undefined,
    maxPixels: options.maxPixels,
  });
  return { images, classes: folder.classes, classNames: folder.classNames };
}

export interface HeldOutSet {
  images: LoadedImages;
  pairs: VerificationPair[];
}

export async function loadHeldOut(
  root: string,
  pairsFile: string,
  arch: Arch,
  options: { landmarks?: string; cacheDir?: string; progress?: boolean; maxPixels?: number },
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
    maxPixels: options.maxPixels,
  });
  return { images: loaded.images, pairs: loaded.pairs };
}

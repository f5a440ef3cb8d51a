// generateSyntheticFaces: a deterministic set of synthetic people for training and testing.
//   out/train/<Name>/<Name>_0001.jpg   training identities, one folder each (ImageFolder layout)
//   out/train_landmarks.txt            `<path under train/>\tx1 y1 ... x5 y5`
//   out/lfw/<Name>/<Name>_0001.jpg     held-out identities (LFW layout), none of them in train/
//   out/pairs.txt                      standard LFW pairs over lfw/
//   out/lfw_landmarks.txt              `<path under lfw/>\tx1 y1 ... x5 y5`
//   out/synth.json                     the settings; written last, so its presence means complete
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { IMAGE_SIZE } from './face-renderer';
import { HELD_OUT_SET, TRAIN_SET, type ImageJob } from './image-job';
import { JPEG_QUALITY } from './jpeg';
import { makeNames } from './names';
import { drawPairsFile } from './pairs';
import { Random } from '../util/random';
import { runImageJobs } from './render-pool';

/** Bumped whenever the drawing changes, so that a stale set on disk is regenerated. */
export const SYNTH_VERSION = 2; // 1: jpeg-js encoding; 2: sharp (mozjpeg)

export interface SynthOptions {
  /** Output folder (created). */
  out: string;
  /** Training identities and images per identity. */
  identities: number;
  images: number;
  /** Held-out identities and images per identity (LFW layout, pairs.txt). */
  heldOutIdentities?: number;
  heldOutImages?: number;
  /** pairs.txt shape: folds x (pairsPerFold matched + pairsPerFold mismatched). */
  folds?: number;
  pairsPerFold?: number;
  seed?: number;
  /** Nuisance strength, 0 (studio photos) to 1 (default). */
  variation?: number;
  /** Include occluders (glasses, hats, hands, ...); default true. */
  occluders?: boolean;
  /** Worker threads for rendering; default: the available cores (at most 8). */
  workers?: number;
  /** Called after each image with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

export interface SynthSettings {
  version: number;
  seed: number;
  identities: number;
  images: number;
  heldOutIdentities: number;
  heldOutImages: number;
  folds: number;
  pairsPerFold: number;
  variation: number;
  occluders: boolean;
  imageSize: number;
  jpegQuality: number;
}

export interface SynthResult {
  settings: SynthSettings;
  trainDir: string;
  lfwDir: string;
  pairsFile: string;
  trainLandmarksFile: string;
  lfwLandmarksFile: string;
  trainNames: string[];
  heldOutNames: string[];
  /** true when an identical, complete set was already there and nothing was written. */
  reused: boolean;
}

function checkCount(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(`Expected an integer >= ${min} for ${name} but received ${String(value)}`);
  }
  return value;
}

export function resolveSynthSettings(options: SynthOptions): SynthSettings {
  const variation = options.variation ?? 1;
  if (typeof variation !== 'number' || !(variation >= 0 && variation <= 1)) {
    throw new RangeError(`Expected a number in [0, 1] for variation but received ${variation}`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`Expected an integer in [0, 2^32) for seed but received ${seed}`);
  }
  return {
    version: SYNTH_VERSION,
    seed,
    identities: checkCount('identities', options.identities, 1),
    images: checkCount('images', options.images, 1),
    heldOutIdentities: checkCount('heldOutIdentities', options.heldOutIdentities ?? 100, 2),
    heldOutImages: checkCount('heldOutImages', options.heldOutImages ?? 10, 2),
    folds: checkCount('folds', options.folds ?? 10, 1),
    pairsPerFold: checkCount('pairsPerFold', options.pairsPerFold ?? 300, 1),
    variation,
    occluders: options.occluders ?? true,
    imageSize: IMAGE_SIZE,
    jpegQuality: JPEG_QUALITY,
  };
}

const imageName = (name: string, n: number) => `${name}_${String(n).padStart(4, '0')}.jpg`;

async function exists(file: string): Promise<boolean> {
  try {
    await fs.stat(file);
    return true;
  } catch {
    return false;
  }
}

async function existingSettings(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export async function generateSyntheticFaces(options: SynthOptions): Promise<SynthResult> {
  if (typeof options.out !== 'string' || options.out === '') {
    throw new TypeError(`Expected a folder path for out but received ${String(options.out)}`);
  }
  const settings = resolveSynthSettings(options);
  if (options.workers !== undefined) checkCount('workers', options.workers, 1);
  const out = path.resolve(options.out);
  const s = settings;
  const names = makeNames(s.identities + s.heldOutIdentities, s.seed, 3);
  const trainNames = names.slice(0, s.identities).sort();
  const heldOutNames = names.slice(s.identities).sort();
  // Pairs are drawn first: impossible fold settings fail before any image is rendered.
  const pairsText = drawPairsFile(
    heldOutNames,
    s.heldOutImages,
    s.folds,
    s.pairsPerFold,
    new Random(s.seed, 5),
  );
  const result: SynthResult = {
    settings,
    trainDir: path.join(out, 'train'),
    lfwDir: path.join(out, 'lfw'),
    pairsFile: path.join(out, 'pairs.txt'),
    trainLandmarksFile: path.join(out, 'train_landmarks.txt'),
    lfwLandmarksFile: path.join(out, 'lfw_landmarks.txt'),
    trainNames,
    heldOutNames,
    reused: false,
  };
  const manifest = path.join(out, 'synth.json');
  const previous = await existingSettings(manifest);
  if (JSON.stringify(previous) === JSON.stringify(settings)) return { ...result, reused: true };
  // Old images must go (a smaller set would otherwise keep stale folders), but only ones this
  // generator wrote: a complete set has synth.json, an interrupted one the partial marker.
  const partial = path.join(out, '.synth-partial');
  const ours = previous !== undefined || (await exists(partial));
  for (const dir of [result.trainDir, result.lfwDir]) {
    if (!ours && (await exists(dir))) {
      throw new Error(
        `${dir} exists and was not written by generateSyntheticFaces; choose another out folder`,
      );
    }
  }
  await fs.mkdir(out, { recursive: true });
  await writeFileAtomic(partial, '');
  await fs.rm(manifest, { force: true });
  await fs.rm(result.trainDir, { recursive: true, force: true });
  await fs.rm(result.lfwDir, { recursive: true, force: true });

  const jobs: ImageJob[] = [];
  const relative: string[] = [];
  const variation = { strength: s.variation, occluders: s.occluders };
  const addSet = (set: number, dir: string, people: string[], images: number) => {
    people.forEach((name, identity) => {
      for (let n = 1; n <= images; n++) {
        relative.push(`${name}/${imageName(name, n)}`);
        jobs.push({
          seed: s.seed,
          set,
          identity,
          image: n,
          file: path.join(dir, name, imageName(name, n)),
          variation,
        });
      }
    });
  };
  addSet(TRAIN_SET, result.trainDir, trainNames, s.images);
  const trainCount = jobs.length;
  addSet(HELD_OUT_SET, result.lfwDir, heldOutNames, s.heldOutImages);
  for (const dir of new Set(jobs.map((job) => path.dirname(job.file)))) {
    await fs.mkdir(dir, { recursive: true });
  }

  // Starting workers costs more than rendering a few dozen images in this thread.
  const workers =
    options.workers ?? (jobs.length < 64 ? 1 : Math.min(8, os.availableParallelism()));
  const landmarks = await runImageJobs(jobs, workers, (done) =>
    options.onProgress?.(done, jobs.length),
  );
  const landmarkLines = (from: number, to: number) =>
    relative
      .slice(from, to)
      .map((file, k) => `${file}\t${landmarks[from + k].map((v) => v.toFixed(2)).join(' ')}\n`)
      .join('');
  await writeFileAtomic(result.trainLandmarksFile, landmarkLines(0, trainCount));
  await writeFileAtomic(result.lfwLandmarksFile, landmarkLines(trainCount, jobs.length));
  await writeFileAtomic(result.pairsFile, pairsText);
  await writeFileAtomic(manifest, JSON.stringify(settings, null, 2) + '\n');
  await fs.rm(partial, { force: true });
  return result;
}

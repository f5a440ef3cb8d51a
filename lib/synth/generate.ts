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
import { makeFolder } from '../util/make-folder';
import { expectInteger, expectPath, fail, MAX_THREADS } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
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

const SYNTH_OPTION_KEYS: OptionKeys<SynthOptions> = {
  out: true,
  identities: true,
  images: true,
  heldOutIdentities: true,
  heldOutImages: true,
  folds: true,
  pairsPerFold: true,
  seed: true,
  variation: true,
  occluders: true,
  workers: true,
  onProgress: true,
};

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

/**
 * Size limits, far beyond any use (the demo draws 300 x 10 + 100 x 10 images; rendering takes
 * about a third of a second per image and thread, so a million images is days of work): a typo's
 * size is refused at once instead of filling the heap.
 */
export const SYNTH_LIMITS = {
  /** Training or held-out identities. */
  identities: 100_000,
  /** Images per training identity. */
  images: 10_000,
  /** Images per held-out identity. */
  heldOutImages: 1_000,
  /** Training and held-out images together. */
  totalImages: 1_000_000,
  /** Distinct same-person pairs of the held-out set, all of which pairs.txt is drawn from. */
  matchedPairs: 1_000_000,
  /** pairsPerFold. */
  pairsPerFold: 1_000_000,
} as const;

const count = (n: number) => n.toLocaleString('en-US');

export function resolveSynthSettings(options: SynthOptions): SynthSettings {
  expectOptions(
    options,
    'options',
    SYNTH_OPTION_KEYS,
    'an options object ({ out, identities, images, ... })',
  );
  const variation = options.variation ?? 1;
  if (typeof variation !== 'number' || !(variation >= 0 && variation <= 1)) {
    fail('a number in [0, 1]', 'variation', variation, RangeError);
  }
  const occluders = options.occluders ?? true;
  if (typeof occluders !== 'boolean') fail('a boolean', 'occluders', occluders);
  const L = SYNTH_LIMITS;
  const identities = expectInteger(options.identities, 'identities', 1, L.identities);
  const images = expectInteger(options.images, 'images', 1, L.images);
  const heldOutIdentities = expectInteger(
    options.heldOutIdentities ?? 100,
    'heldOutIdentities',
    2,
    L.identities,
  );
  const heldOutImages = expectInteger(
    options.heldOutImages ?? 10,
    'heldOutImages',
    2,
    L.heldOutImages,
  );
  const total = identities * images + heldOutIdentities * heldOutImages;
  if (total > L.totalImages) {
    throw new RangeError(
      `identities x images + heldOutIdentities x heldOutImages = ${count(total)} images, over ` +
        `the limit of ${count(L.totalImages)}`,
    );
  }
  const matched = (heldOutIdentities * heldOutImages * (heldOutImages - 1)) / 2;
  if (matched > L.matchedPairs) {
    throw new RangeError(
      `heldOutIdentities x heldOutImages x (heldOutImages - 1) / 2 = ${count(matched)} ` +
        `same-person pairs to draw pairs.txt from, over the limit of ${count(L.matchedPairs)}; ` +
        'lower heldOutImages',
    );
  }
  return {
    version: SYNTH_VERSION,
    seed: expectInteger(options.seed ?? 1, 'seed', 0, 0xffffffff),
    identities,
    images,
    heldOutIdentities,
    heldOutImages,
    folds: expectInteger(options.folds ?? 10, 'folds', 1, L.identities / 2),
    pairsPerFold: expectInteger(options.pairsPerFold ?? 300, 'pairsPerFold', 1, L.pairsPerFold),
    variation,
    occluders,
    imageSize: IMAGE_SIZE,
    jpegQuality: JPEG_QUALITY,
  };
}

const imageName = (name: string, n: number) => `${name}_${String(n).padStart(4, '0')}.jpg`;

async function existingSettings(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Settings read back from a file this generator wrote, or undefined. */
function savedSettings(saved: unknown): SynthSettings | undefined {
  try {
    // The file holds derived settings too (version, imageSize): only the options go back in.
    const given = Object.entries(saved as object).filter(([key]) =>
      Object.hasOwn(SYNTH_OPTION_KEYS, key),
    );
    return resolveSynthSettings({ ...(Object.fromEntries(given) as SynthOptions), out: '' });
  } catch {
    return undefined;
  }
}

/** The people of a set: training names then held-out names, each sorted. */
function peopleOf(s: SynthSettings): { trainNames: string[]; heldOutNames: string[] } {
  const names = makeNames(s.identities + s.heldOutIdentities, s.seed, 3);
  return {
    trainNames: names.slice(0, s.identities).sort(),
    heldOutNames: names.slice(s.identities).sort(),
  };
}

interface SetImage {
  set: number;
  identity: number;
  image: number;
  /** 'train' or 'lfw'. */
  dir: string;
  /** Under `dir`: `<Name>/<Name>_0001.jpg`. */
  file: string;
}

/** Every image of a set, training images first. */
function imagesOf(s: SynthSettings): SetImage[] {
  const { trainNames, heldOutNames } = peopleOf(s);
  const images: SetImage[] = [];
  const add = (set: number, dir: string, people: string[], count: number) => {
    people.forEach((name, identity) => {
      for (let image = 1; image <= count; image++) {
        images.push({ set, identity, image, dir, file: path.join(name, imageName(name, image)) });
      }
    });
  };
  add(TRAIN_SET, 'train', trainNames, s.images);
  add(HELD_OUT_SET, 'lfw', heldOutNames, s.heldOutImages);
  return images;
}

/** Entries of `root`'s image folders that a set of `settings` did not write; at most `limit`. */
async function foreignEntries(root: string, settings: SynthSettings | undefined, limit: number) {
  const ours = new Set<string>();
  if (settings) {
    for (const { dir, file } of imagesOf(settings)) {
      ours.add(path.join(dir, file));
      ours.add(path.join(dir, path.dirname(file)));
    }
  }
  const foreign: string[] = [];
  for (const top of ['train', 'lfw']) {
    const stats = await fs.lstat(path.join(root, top)).catch(() => undefined);
    if (!stats) continue;
    if (!stats.isDirectory()) {
      foreign.push(top);
      continue;
    }
    for (const entry of await fs.readdir(path.join(root, top), { recursive: true })) {
      const relative = path.join(top, entry);
      if (!ours.has(relative)) foreign.push(relative);
      if (foreign.length >= limit) return foreign;
    }
  }
  return foreign;
}

async function allNonEmpty(files: readonly string[]): Promise<boolean> {
  for (let start = 0; start < files.length; start += 256) {
    const sizes = await Promise.all(
      files.slice(start, start + 256).map((file) =>
        fs.stat(file).then(
          (stat) => (stat.isFile() ? stat.size : 0),
          () => 0,
        ),
      ),
    );
    if (sizes.includes(0)) return false;
  }
  return true;
}

export async function generateSyntheticFaces(options: SynthOptions): Promise<SynthResult> {
  const settings = resolveSynthSettings(options);
  expectPath(options.out, 'out', 'a folder path');
  if (options.workers !== undefined) expectInteger(options.workers, 'workers', 1, MAX_THREADS);
  const out = path.resolve(options.out);
  const s = settings;
  const { trainNames, heldOutNames } = peopleOf(s);
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
  const saved = await existingSettings(manifest);
  const images = imagesOf(s);
  // Reused only whole: a file lost since (deleted, emptied) means drawing the set again.
  const files = [
    ...images.map(({ dir, file }) => path.join(out, dir, file)),
    ...[result.pairsFile, result.trainLandmarksFile, result.lfwLandmarksFile],
  ];
  if (JSON.stringify(saved) === JSON.stringify(settings) && (await allNonEmpty(files))) {
    return { ...result, reused: true };
  }
  // Old images must go (a smaller set would otherwise keep stale folders), but only when every
  // file there is one this generator wrote: a complete set names its settings in synth.json, an
  // interrupted one in the partial marker.
  const partial = path.join(out, '.synth-partial');
  const previous = savedSettings(saved) ?? savedSettings(await existingSettings(partial));
  const foreign = await foreignEntries(out, previous, 4);
  if (foreign.length > 0) {
    const named = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', ...' : '');
    throw new Error(
      `${out} holds files generateSyntheticFaces did not write (${named}); move them away or ` +
        'choose another out folder',
    );
  }
  await makeFolder(out, 'the out folder');
  await writeFileAtomic(partial, JSON.stringify(settings, null, 2) + '\n');
  await fs.rm(manifest, { force: true });
  await fs.rm(result.trainDir, { recursive: true, force: true });
  await fs.rm(result.lfwDir, { recursive: true, force: true });

  const variation = { strength: s.variation, occluders: s.occluders };
  const jobs: ImageJob[] = images.map(({ set, identity, image, dir, file }) => ({
    seed: s.seed,
    set,
    identity,
    image,
    file: path.join(out, dir, file),
    variation,
  }));
  const trainCount = images.filter((image) => image.set === TRAIN_SET).length;
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
    images
      .slice(from, to)
      .map(({ file }, k) => `${file}\t${landmarks[from + k].map((v) => v.toFixed(2)).join(' ')}\n`)
      .join('');
  await writeFileAtomic(result.trainLandmarksFile, landmarkLines(0, trainCount));
  await writeFileAtomic(result.lfwLandmarksFile, landmarkLines(trainCount, jobs.length));
  await writeFileAtomic(result.pairsFile, pairsText);
  await writeFileAtomic(manifest, JSON.stringify(settings, null, 2) + '\n');
  await fs.rm(partial, { force: true });
  return result;
}

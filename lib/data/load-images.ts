import * as fs from 'node:fs';
import * as path from 'node:path';
import { removeStaleTemps } from '../util/atomic-write';
import { whyUnwritable } from '../util/make-folder';
import { expectInteger, expectObject, fail, MAX_THREADS } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { BadImageError } from './bad-image-error';
import { DecodePool, type DecodeJob } from './decode-pool';
import { checkMaxPixels, DECODER_VERSION } from './image-decoder';
import {
  ImageCache,
  CACHE_VERSION,
  type CacheMiss,
  type CachedImages,
  type SkippedImage,
} from './image-cache';
import type { DeterministicTransform } from './transforms/transform';
import type { FivePoints } from './transforms/raw-image';
import { MAX_CLASSES, type ImageSet } from './types';

export type OnBadImage = 'error' | 'skip';

export interface LoadImagesOptions {
  /** Run once per image at load time, in order (Resize, CenterCrop, FaceAlign). */
  transforms?: readonly DeterministicTransform[];
  /** One label per path; carried into the set (and filtered with it when images are skipped). */
  labels?: Int32Array | readonly number[];
  /** One five-point set per path (or undefined), for FaceAlign. */
  landmarks?: readonly (FivePoints | readonly number[] | undefined)[];
  /** One encoded image per path, decoded instead of reading the path (which then only names
   * the image in errors), e.g. the images of a container file. Not cached (no cacheDir). Each
   * should own its memory: a view into a larger buffer sends the whole buffer to a worker. */
  bytes?: readonly Uint8Array[];
  /** Folder for the binary cache; without it every call decodes. */
  cacheDir?: string;
  /**
   * Stem of the cache file name; a new cache replaces older files with the same stem. Default:
   * the name of the images' common folder and a hash of its path (`lfw-1a2b3c4d`), so sets from
   * different folders keep their caches side by side in one cacheDir.
   */
  cacheName?: string;
  /** 'error' (default): the first bad image rejects, naming the file. 'skip': leave it out, report it. */
  onBadImage?: OnBadImage;
  /**
   * Refuse (as a bad image) any image over this many pixels, from its header, before decoding
   * (default 50 million; Infinity for no limit).
   */
  maxPixels?: number;
  /** Decode threads (default: cores available; a shared pool per count); or a pool of your own. */
  threads?: number;
  pool?: DecodePool;
  /** Called as images are decoded, with the count done and the total. */
  onProgress?: (done: number, total: number) => void;
}

const LOAD_IMAGES_OPTION_KEYS: OptionKeys<LoadImagesOptions> = {
  transforms: true,
  labels: true,
  landmarks: true,
  bytes: true,
  cacheDir: true,
  cacheName: true,
  onBadImage: true,
  maxPixels: true,
  threads: true,
  pool: true,
  onProgress: true,
};

/**
 * A dataset's load options with the dataset's own labels: labels given in them would be
 * overridden, so they are refused (the other names are checked by loadImages).
 */
export function withDatasetLabels(
  options: Omit<LoadImagesOptions, 'labels'>,
  labels: Int32Array,
  who: string,
): LoadImagesOptions {
  expectObject(options, 'options');
  if ((options as LoadImagesOptions).labels !== undefined) {
    throw new TypeError(
      `${who}.load: the dataset gives each image its label; leave labels out of the options`,
    );
  }
  return { ...options, labels };
}

/** A loaded set: `kept[i]` is the input index of image i; `skipped` what was left out. */
export interface LoadedImages extends ImageSet {
  kept: Int32Array;
  skipped: SkippedImage[];
  fromCache: boolean;
  cacheFile?: string;
  /** Why an existing cache was not used, when there is a cache folder and it was rebuilt. */
  cacheMiss?: CacheMiss;
}

const MAX_BYTES = 2 ** 32 - 1; // the largest Uint8Array V8 gives us
/** A plain file-name stem: no folder part, nothing hidden, so the cache stays in cacheDir. */
const CACHE_NAME = /^[\p{L}\p{N}_-][\p{L}\p{N}._-]{0,99}$/u;

export async function statAll(paths: readonly string[]): Promise<[number, number][]> {
  const out: [number, number][] = new Array(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      try {
        const s = await fs.promises.stat(paths[i]);
        out[i] = [s.size, Math.round(s.mtimeMs)];
      } catch {
        out[i] = [-1, -1];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, paths.length) }, worker));
  return out;
}

function checkOptions(paths: readonly string[], options: LoadImagesOptions): void {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new Error('loadImages: expected a non-empty array of image paths for paths');
  }
  expectOptions(options, 'options', LOAD_IMAGES_OPTION_KEYS);
  if (options.transforms !== undefined && !Array.isArray(options.transforms)) {
    fail('an array of transforms', 'transforms', options.transforms);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    fail('a function', 'onProgress', options.onProgress);
  }
  const labels = options.labels ?? [];
  for (let i = 0; i < labels.length; i++) {
    if (!(Number.isInteger(labels[i]) && labels[i] >= 0 && labels[i] < MAX_CLASSES)) {
      fail(`an integer label in 0..${MAX_CLASSES - 1}`, `labels[${i}]`, labels[i], RangeError);
    }
  }
  if (options.labels && options.labels.length !== paths.length) {
    throw new Error(
      `loadImages: expected ${paths.length} labels (one per path) but received ${options.labels.length}`,
    );
  }
  if (options.landmarks && options.landmarks.length !== paths.length) {
    throw new Error(
      `loadImages: expected ${paths.length} landmark sets (one per path) but received ${options.landmarks.length}`,
    );
  }
  if (options.bytes && options.bytes.length !== paths.length) {
    throw new Error(
      `loadImages: expected ${paths.length} encoded images (one per path) but received ${options.bytes.length}`,
    );
  }
  if (options.bytes && options.cacheDir) {
    throw new Error('loadImages: images given as bytes are not cached; leave out cacheDir');
  }
  if (options.cacheName !== undefined && !CACHE_NAME.test(String(options.cacheName))) {
    throw new Error(
      `loadImages: expected a file-name stem for cacheName (letters, digits, '.', '_', '-'; not starting with '.'; at most 100 characters) but received '${String(options.cacheName)}'`,
    );
  }
  if (options.onBadImage && options.onBadImage !== 'error' && options.onBadImage !== 'skip') {
    throw new Error(
      `loadImages: expected 'error' or 'skip' for onBadImage but received ${String(options.onBadImage)}`,
    );
  }
  if (options.threads !== undefined) expectInteger(options.threads, 'threads', 1, MAX_THREADS);
  for (const t of options.transforms ?? []) {
    if ((t as { random?: boolean }).random !== false) {
      throw new Error(
        'loadImages: random transforms (RandomCrop, RandomHorizontalFlip) belong to the DataLoader, not the cache',
      );
    }
  }
}

/**
 * Decodes images (on a worker pool), runs the deterministic transforms and returns one
 * contiguous uint8 n x h x w x 3 set. With `cacheDir` the result is cached on disk and later
 * calls with the same files (paths, sizes, mtimes), labels, landmarks and transforms read the
 * cache instead of decoding.
 */
export async function loadImages(
  paths: readonly string[],
  options: LoadImagesOptions = {},
): Promise<LoadedImages> {
  checkOptions(paths, options);
  // A pool of the caller's own brings its limit; the option overrides it.
  const maxPixels = checkMaxPixels(options.maxPixels ?? options.pool?.maxPixels, 'loadImages');
  const transforms = options.transforms ?? [];
  const onBadImage = options.onBadImage ?? 'error';
  let cache: ImageCache | undefined;
  let digest = '';
  let cacheMiss: CacheMiss | undefined;
  const stem = options.cacheDir ? (options.cacheName ?? defaultCacheName(paths)) : '';
  if (options.cacheDir) {
    // Before any decoding: a file where the folder goes would fail only at the cache's write.
    const dir = options.cacheDir;
    const why = await whyUnwritable(dir);
    if (why) throw new Error(`loadImages: cacheDir ${dir}: ${why}`);
    if (fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() === false) {
      throw new Error(`loadImages: cacheDir ${dir} is a file, not a folder`);
    }
    const stats = await statAll(paths);
    digest = ImageCache.digest({
      cache: CACHE_VERSION,
      decoder: DECODER_VERSION,
      paths,
      stats,
      labels: options.labels ? Array.from(options.labels) : null,
      landmarks: options.landmarks
        ? options.landmarks.map((l) => (l ? Array.from(l) : null))
        : null,
      transforms: transforms.map((t) => t.spec()),
      onBadImage,
      maxPixels: String(maxPixels), // which images are refused; JSON has no Infinity
    });
    cache = new ImageCache(path.join(options.cacheDir, `${stem}-${digest.slice(0, 16)}.sfcache`));
    const found = await cache.read(digest);
    if ('hit' in found) return { ...found.hit, fromCache: true, cacheFile: cache.file };
    cacheMiss = found.miss;
  }
  const decoded = await decodeAll(paths, transforms, maxPixels, options, onBadImage);
  if (cache) {
    // Temporaries of builds that were killed are garbage.
    await removeStaleTemps(path.dirname(cache.file));
    await cache.write(digest, decoded);
    await removeOlderCaches(cache.file, stem);
  }
  return {
    ...decoded,
    fromCache: false,
    cacheFile: cache?.file,
    cacheMiss: cache ? cacheMiss : undefined,
  };
}

/** The images' deepest common folder, named, with a hash of its absolute path. */
function defaultCacheName(paths: readonly string[]): string {
  let common = path.dirname(path.resolve(paths[0]));
  for (const p of paths) {
    const dir = path.dirname(path.resolve(p));
    while (
      dir !== common &&
      !dir.startsWith(common.endsWith(path.sep) ? common : common + path.sep)
    ) {
      common = path.dirname(common);
    }
  }
  const name = (path.basename(common) || 'images').replace(/[^\p{L}\p{N}_-]/gu, '_').slice(0, 60);
  return `${name}-${ImageCache.digest(common).slice(0, 8)}`;
}

async function removeOlderCaches(keep: string, stem: string): Promise<void> {
  const dir = path.dirname(keep);
  const pattern = new RegExp(
    `^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{16}\\.sfcache$`,
  );
  for (const name of await fs.promises.readdir(dir)) {
    if (pattern.test(name) && path.join(dir, name) !== keep)
      await fs.promises.rm(path.join(dir, name), { force: true });
  }
}

function mixedSizeError(paths: readonly string[], heights: Int32Array, widths: Int32Array): Error {
  const first = heights.findIndex((h) => h > 0);
  const other = heights.findIndex(
    (h, i) => h > 0 && (h !== heights[first] || widths[i] !== widths[first]),
  );
  const size = (i: number) => `${heights[i]}x${widths[i]}`;
  return new Error(
    `loadImages: ${paths[other]} is ${size(other)} after the transforms but ${paths[first]} is ${size(first)}; every image needs one size (a Resize([h, w]), CenterCrop or FaceAlign gives it)`,
  );
}

async function decodeAll(
  paths: readonly string[],
  transforms: readonly DeterministicTransform[],
  maxPixels: number,
  options: LoadImagesOptions,
  onBadImage: OnBadImage,
): Promise<CachedImages> {
  const n = paths.length;
  const jobs: DecodeJob[] = paths.map((p, i) => ({
    path: p,
    landmarks: options.landmarks?.[i],
    bytes: options.bytes?.[i],
  }));
  const ok = new Uint8Array(n);
  const bad: SkippedImage[] = [];
  let images: Uint8Array | undefined;
  let height = 0;
  let width = 0;
  let sizeError: Error | undefined;
  // Each decoded image's size, so that a mixed set is reported by its first two sizes in input
  // order, whichever image the workers finished first.
  const heights = new Int32Array(n);
  const widths = new Int32Array(n);
  let mixedSizes = false;
  let done = 0;
  const pool = options.pool ?? DecodePool.shared(options.threads);
  await pool.run(
    jobs,
    transforms,
    (i, outcome) => {
      options.onProgress?.(++done, n);
      if (!outcome.ok) {
        bad.push({ index: i, path: paths[i], reason: outcome.error });
        return;
      }
      const image = outcome.image;
      heights[i] = image.height;
      widths[i] = image.width;
      if (!images) {
        height = image.height;
        width = image.width;
        const bytes = n * height * width * 3;
        if (bytes > MAX_BYTES) {
          sizeError = new Error(
            `loadImages: ${n} images of ${height}x${width}x3 need ${bytes} bytes, more than one Uint8Array holds (${MAX_BYTES}); load the set in parts`,
          );
          return;
        }
        images = new Uint8Array(bytes);
      } else if (image.height !== height || image.width !== width) {
        mixedSizes = true; // not a bad file but a pipeline that does not fix the size: an error
        return;
      }
      images.set(image.data, i * height * width * 3);
      ok[i] = 1;
    },
    { maxPixels },
  );
  if (sizeError) throw sizeError;
  if (mixedSizes) throw mixedSizeError(paths, heights, widths);
  bad.sort((a, b) => a.index - b.index);
  if (bad.length > 0 && onBadImage === 'error') throw new BadImageError(bad);
  if (!images) {
    throw new Error(
      `loadImages: none of the ${n} images could be decoded; the first, ${bad[0].path}: ${bad[0].reason}`,
    );
  }
  const imageBytes = height * width * 3;
  const kept = new Int32Array(n - bad.length);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!ok[i]) continue;
    if (k !== i) images.copyWithin(k * imageBytes, i * imageBytes, (i + 1) * imageBytes);
    kept[k++] = i;
  }
  const labels = options.labels
    ? Int32Array.from(kept, (i) => Number(options.labels![i]))
    : undefined;
  return {
    images: k === n ? images : images.subarray(0, k * imageBytes),
    n: k,
    height,
    width,
    labels,
    kept,
    skipped: bad,
  };
}

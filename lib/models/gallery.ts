// 1:N search: a gallery of known people's face embeddings (one row per image), and probes
// ranked against it by cosine similarity. Rows are unit length, so a batch of probes is scored by
// one matrix product with the gallery; a person's score is their best image's.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { BadImageError } from '../data/bad-image-error';
import { ImageFolderDataset } from '../data/image-folder-dataset';
import type { LandmarksFile } from '../data/landmarks-file';
import { expectPath, fail } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { checkFlipMode, expectEmbedder, type FlipMode } from './embed-images';
import { clampCosine, embedFiles, type EmbedFilesOptions, type FileEmbedder } from './face-files';
import { readGalleryFile, writeGalleryFile } from './gallery-file';

/**
 * The features of a fixed image (a smooth colour pattern of the model's input size): saved with a
 * gallery, they tell the model that embedded it from another of the same arch.
 */
async function modelCheck(model: GalleryModel): Promise<Float32Array> {
  const { height, width } = model.inputSize;
  const image = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      image[i] = Math.round((255 * x) / Math.max(1, width - 1));
      image[i + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      image[i + 2] = (x * 7 + y * 13) % 256;
    }
  }
  return model.embed(image, 1);
}

// Two runs of one model agree to float rounding (the conv path may differ with the batch); two
// models, even a few steps apart, differ far more.
const SAME_MODEL_COSINE = 0.9999;

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < a.length; k++) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return ab / Math.sqrt(aa * bb);
}

/** A model that can fill and search a gallery. */
export interface GalleryModel extends FileEmbedder {
  readonly arch: string;
}

export interface GalleryMatch {
  name: string;
  /** Cosine similarity of the probe and this person's closest gallery image. */
  score: number;
  /** That image. */
  path: string;
}

export interface GallerySearchResult {
  probe: string;
  matches: GalleryMatch[];
}

export interface GalleryOptions {
  flip?: FlipMode; // default 'concat', as the evaluator
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Refuse images over this many pixels, from their headers (default 50 million). */
  maxPixels?: number;
}

/** How add and search embed images: as the gallery was built, so without a flip of their own. */
export type GalleryEmbedOptions = Omit<GalleryOptions, 'flip'> &
  Omit<EmbedFilesOptions, 'flip' | 'normalize'>;

// flip too: the same as the gallery's is accepted, another refused with the reason (sameFlip).
const EMBED_OPTION_KEYS: OptionKeys<GalleryEmbedOptions & Pick<GalleryOptions, 'flip'>> = {
  flip: true,
  batchSize: true,
  onProgress: true,
  maxPixels: true,
  landmarks: true,
  boxes: true,
};

type BuildOptions = GalleryOptions & { root: string; landmarks?: LandmarksFile };

const BUILD_OPTION_KEYS: OptionKeys<BuildOptions> = {
  root: true,
  landmarks: true,
  flip: true,
  batchSize: true,
  onProgress: true,
  maxPixels: true,
};

export class Gallery {
  readonly flip: FlipMode;
  private embeddings: Float32Array;
  private readonly rowNames: string[];
  private readonly rowPaths: string[];
  /** imageKey of each row, found on the first add and kept up to date after. */
  private rowKeys: string[] | undefined;
  /** The end of the last add, search or save called: each waits for the one before. */
  private lastTurn: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly model: GalleryModel,
    readonly dim: number,
    flip: FlipMode,
    embeddings = new Float32Array(0),
    names: string[] = [],
    paths: string[] = [],
  ) {
    this.flip = flip;
    this.embeddings = embeddings;
    this.rowNames = names;
    this.rowPaths = paths;
  }

  /** An empty gallery for `model`; fill it with add(). */
  static create(model: GalleryModel, options: Pick<GalleryOptions, 'flip'> = {}): Gallery {
    expectEmbedder(model);
    expectOptions(options, 'options', { flip: true });
    const flip = checkFlipMode(options.flip ?? 'concat');
    return new Gallery(
      model,
      flip === 'concat' ? 2 * model.embeddingDim : model.embeddingDim,
      flip,
    );
  }

  /** A gallery of every image under `root`, one folder per person (the folder names the person). */
  static async build(model: GalleryModel, options: BuildOptions): Promise<Gallery> {
    expectOptions(options, 'options', BUILD_OPTION_KEYS, 'an options object ({ root, ... })');
    const folder = new ImageFolderDataset(options.root);
    const gallery = Gallery.create(model, { flip: options.flip });
    await gallery
      .addRows(
        folder.paths,
        Array.from(folder.labels, (label) => folder.classNames[label]),
        options,
      )
      .catch((error: unknown) => {
        // The images are the folder's, not a list the caller gave.
        throw error instanceof BadImageError
          ? error.withTerms({ skip: `move it out of ${folder.root}`, limit: 'maxPixels' })
          : error;
      });
    return gallery;
  }

  /** Reads a gallery written by save(); `model` must be the one that embedded it. */
  static async load(file: string, model: GalleryModel): Promise<Gallery> {
    const { header, embeddings } = await readGalleryFile(file);
    const dim = header.flip === 'concat' ? 2 * model.embeddingDim : model.embeddingDim;
    if (header.arch !== model.arch || header.dim !== dim) {
      throw new Error(
        `${file} was embedded by ${header.arch} (${header.dim} numbers a row); this model is ` +
          `${model.arch} (${dim} with flip '${header.flip}')`,
      );
    }
    if (header.modelCheck) {
      const ours = await modelCheck(model);
      const agreement =
        header.modelCheck.length === ours.length ? cosine(header.modelCheck, ours) : 0;
      if (!(agreement >= SAME_MODEL_COSINE)) {
        throw new Error(
          `${file} was embedded by another ${header.arch} model (a fixed image's features ` +
            `agree to cosine ${agreement.toFixed(4)}); build it again with this one`,
        );
      }
    }
    return new Gallery(model, header.dim, header.flip, embeddings, header.names, header.paths);
  }

  /** Rows (gallery images). */
  get size(): number {
    return this.rowNames.length;
  }

  /** The people, in the order they were added. */
  get names(): string[] {
    return [...new Set(this.rowNames)];
  }

  /**
   * Adds a person's images (to their existing ones, if any). Adds, searches and saves of one
   * gallery run in the order called, each after the one before has finished.
   */
  async add(
    name: string,
    paths: readonly string[],
    options: GalleryEmbedOptions = {},
  ): Promise<void> {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`Expected a non-empty name but received ${String(name)}`);
    }
    if (!Array.isArray(paths)) fail(`an array of image paths of ${name}`, 'paths', paths);
    if (paths.length === 0) {
      throw new TypeError(`Expected image paths of ${name} but received none`);
    }
    expectOptions(options, 'options', EMBED_OPTION_KEYS);
    await this.inTurn(() =>
      this.addRows(
        paths,
        paths.map(() => name),
        options,
      ),
    );
  }

  async save(file: string): Promise<void> {
    expectPath(file, 'file', 'a gallery file path');
    await this.inTurn(() => this.write(file));
  }

  private async write(file: string): Promise<void> {
    await writeGalleryFile(file, {
      header: {
        dim: this.dim,
        flip: this.flip,
        arch: this.model.arch,
        names: this.rowNames,
        paths: this.rowPaths,
        modelCheck: Array.from(await modelCheck(this.model)),
      },
      embeddings: this.embeddings,
    });
  }

  /** The `top` best-matching people for each probe image, best first. */
  async search(
    paths: readonly string[],
    options: GalleryEmbedOptions & { top?: number } = {},
  ): Promise<GallerySearchResult[]> {
    expectOptions(options, 'options', { ...EMBED_OPTION_KEYS, top: true });
    const top = options.top ?? 5;
    if (!Number.isInteger(top) || top < 1) fail('a positive integer', 'top', top, RangeError);
    return this.inTurn(() => this.rank(paths, top, options));
  }

  private async rank(
    paths: readonly string[],
    top: number,
    options: GalleryEmbedOptions,
  ): Promise<GallerySearchResult[]> {
    if (this.size === 0) throw new Error('the gallery is empty: add people before searching');
    const probes = await embedFiles(this.model, paths, this.sameFlip(options));
    const scores = await this.scores(probes.embeddings, paths.length);
    return paths.map((probe, p) => ({
      probe,
      matches: this.bestPeople(scores.subarray(p * this.size, (p + 1) * this.size), top),
    }));
  }

  // Calls overlapping in time run one after another, in call order: two adds of one image must
  // not both pass the check for rows already there, and a save or search sees whole adds.
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.lastTurn.then(work);
    this.lastTurn = turn.catch(() => undefined);
    return turn;
  }

  // Every row and probe is embedded as the gallery was built; another flip would compare
  // features of different kinds. Only embedFiles' options go on (not search's top, build's root).
  private sameFlip(options: GalleryEmbedOptions): EmbedFilesOptions {
    const asked = (options as { flip?: unknown }).flip;
    if (asked !== undefined && asked !== this.flip) {
      throw new Error(
        `the gallery's features are flip '${this.flip}'; flip '${String(asked)}' would compare ` +
          'features of another kind: leave flip out',
      );
    }
    // Rows and probes are unit length, so that a score is the cosine.
    const { batchSize, onProgress, maxPixels, landmarks, boxes } = options;
    return { batchSize, onProgress, maxPixels, landmarks, boxes, flip: this.flip, normalize: true };
  }

  private async addRows(
    paths: readonly string[],
    names: readonly string[],
    options: GalleryEmbedOptions,
  ): Promise<void> {
    const keys = await this.checkNewPaths(paths, names);
    const { embeddings } = await embedFiles(this.model, paths, this.sameFlip(options));
    const grown = new Float32Array(this.embeddings.length + embeddings.length);
    grown.set(this.embeddings);
    grown.set(embeddings, this.embeddings.length);
    this.embeddings = grown;
    this.rowNames.push(...names);
    this.rowPaths.push(...paths);
    this.rowKeys?.push(...keys);
  }

  /**
   * Refuses an image already in the gallery, or given twice, however it is reached (another
   * spelling, a symbolic or hard link): an image is one row, of one person. Returns the new
   * images' keys.
   */
  private async checkNewPaths(
    paths: readonly string[],
    names: readonly string[],
  ): Promise<string[]> {
    this.rowKeys ??= await Promise.all(this.rowPaths.map(imageKey));
    const rows = new Map(this.rowKeys.map((key, r) => [key, r]));
    const given = new Map<string, number>();
    const keys = await Promise.all(paths.map(imageKey));
    paths.forEach((file, i) => {
      const row = rows.get(keys[i]);
      if (row !== undefined) {
        const spelt = path.resolve(file) === path.resolve(this.rowPaths[row]);
        throw new Error(
          `${file} is in the gallery already, as ${this.rowNames[row]}` +
            (spelt ? '' : ` (${this.rowPaths[row]})`),
        );
      }
      const first = given.get(keys[i]);
      if (first !== undefined) {
        const spelt = path.resolve(file) === path.resolve(paths[first]);
        throw new Error(
          `${file} is given twice (as ${names[first]} first${spelt ? '' : `, ${paths[first]}`})`,
        );
      }
      given.set(keys[i], i);
    });
    return keys;
  }

  // probes (n x dim) . gallery^T (dim x rows): cosines, as both sides are unit length. Done in
  // slices of gallery rows with a turn of the event loop between them, so a large gallery never
  // holds the loop for long.
  private async scores(probes: Float32Array, n: number): Promise<Float32Array> {
    const { dim, size } = this;
    const out = new Float32Array(n * size);
    const slice = Math.max(1, Math.floor(2_000_000 / Math.max(1, n * dim)));
    for (let start = 0; start < size; start += slice) {
      const end = Math.min(size, start + slice);
      for (let r = start; r < end; r++) {
        const row = this.embeddings.subarray(r * dim, (r + 1) * dim);
        for (let p = 0; p < n; p++) {
          let dot = 0;
          const probe = p * dim;
          for (let k = 0; k < dim; k++) dot += probes[probe + k] * row[k];
          out[p * size + r] = clampCosine(dot);
        }
      }
      if (end < size) await new Promise((resolve) => setImmediate(resolve));
    }
    return out;
  }

  private bestPeople(scores: Float32Array, top: number): GalleryMatch[] {
    const best = new Map<string, GalleryMatch>();
    scores.forEach((score, r) => {
      const name = this.rowNames[r];
      const current = best.get(name);
      if (!current || score > current.score)
        best.set(name, { name, score, path: this.rowPaths[r] });
    });
    return [...best.values()].sort((a, b) => b.score - a.score).slice(0, top);
  }
}

/** What identifies an image: its file (device and inode) where it exists, else its full path. */
async function imageKey(file: string): Promise<string> {
  const stats = await fs.stat(file).catch(() => undefined);
  return stats ? `file ${stats.dev}:${stats.ino}` : `path ${path.resolve(file)}`;
}

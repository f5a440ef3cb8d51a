import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  loadImages,
  withDatasetLabels,
  type LoadImagesOptions,
  type LoadedImages,
  type OnBadImage,
} from './load-images';
import { byCodePoint } from '../util/code-point-order';
import { pairsOfLoadedImages, type SkippedPair } from './loaded-pairs';
import { PairsFile } from './pairs-file';
import type { VerificationPair } from './types';
import { expectPath } from '../util/expect';
import { expectOptions } from '../util/option-keys';

export type { SkippedPair } from './loaded-pairs';

/** LfwDataset.load's result: the decoded images and the pairs that still have both images. */
export interface LoadedLfw {
  images: LoadedImages;
  pairs: VerificationPair[];
  skippedPairs: SkippedPair[];
}

/**
 * LFW for verification: images at `root/<Name>/<Name>_<4-digit index>.jpg` and the pairs of a
 * pairs.txt (10 folds) or pairsDevTest.txt (one set). `images` is the unique image list in order
 * of first mention; `pairs` index into it. Each image's identity is its name: `labels[i]` indexes
 * `classNames` (sorted), so a loaded set carries labels (for the Angular Fisher Score).
 */
export class LfwDataset {
  readonly root: string;
  readonly pairsFile: string;
  readonly folds: number;
  readonly images: string[] = [];
  /** Identity names, sorted; labels index into them. */
  readonly classNames: string[];
  /** Per image, its identity. */
  readonly labels: Int32Array;
  readonly pairs: VerificationPair[] = [];
  /** Pairs left out because an image is missing (only with onBadImage: 'skip'). */
  readonly skipped: SkippedPair[] = [];

  constructor(
    root: string,
    pairsFile: string,
    options: { onBadImage?: OnBadImage; extension?: string } = {},
  ) {
    this.root = path.resolve(expectPath(root, 'root', 'a folder path'));
    this.pairsFile = path.resolve(expectPath(pairsFile, 'pairsFile', 'a pairs file path'));
    expectOptions(options, 'options', { onBadImage: true, extension: true });
    if (!isDir(this.root)) throw new Error(`LfwDataset: cannot read folder ${this.root}`);
    const parsed = new PairsFile(this.pairsFile);
    this.folds = parsed.folds;
    const ext = options.extension ?? 'jpg';
    const onBadImage = options.onBadImage ?? 'error';
    const indexOf = new Map<string, number>();
    const names: string[] = [];
    const exists = new Map<string, boolean>();
    const imagePath = (name: string, i: number) =>
      path.join(this.root, name, `${name}_${String(i).padStart(4, '0')}.${ext}`);
    for (const p of parsed.pairs) {
      const a = imagePath(p.nameA, p.indexA);
      const b = imagePath(p.nameB, p.indexB);
      const missing = [a, b].find((f) => {
        if (!exists.has(f)) exists.set(f, isFile(f));
        return !exists.get(f);
      });
      if (missing) {
        const reason = `the pair names ${missing}, which does not exist`;
        if (onBadImage === 'skip') {
          this.skipped.push({ line: p.line, reason });
          continue;
        }
        throw new Error(`${this.pairsFile}:${p.line}: ${reason}`);
      }
      for (const [f, name] of [
        [a, p.nameA],
        [b, p.nameB],
      ]) {
        if (!indexOf.has(f)) {
          indexOf.set(f, this.images.length);
          this.images.push(f);
          names.push(name);
        }
      }
      this.pairs.push({
        a: indexOf.get(a)!,
        b: indexOf.get(b)!,
        same: p.same,
        fold: p.fold,
        line: p.line,
      });
    }
    this.classNames = [...new Set(names)].sort(byCodePoint);
    const label = new Map(this.classNames.map((name, k) => [name, k]));
    this.labels = Int32Array.from(names, (name) => label.get(name)!);
  }

  /**
   * Decodes (or reads from the cache) the unique images; with onBadImage 'skip', pairs that
   * lose an image are dropped and reported, and the rest re-indexed into the loaded set.
   */
  async load(options: Omit<LoadImagesOptions, 'labels'> = {}): Promise<LoadedLfw> {
    const images = await loadImages(
      this.images,
      withDatasetLabels(options, this.labels, 'LfwDataset'),
    );
    const { pairs, skippedPairs } = pairsOfLoadedImages(
      this.pairs,
      images,
      (input) => this.images[input],
      this.images.length,
    );
    return { images, pairs, skippedPairs };
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

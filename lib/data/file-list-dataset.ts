import * as path from 'node:path';
import { parseNumbers, readListLines } from './list-file';
import {
  loadImages,
  withDatasetLabels,
  type LoadImagesOptions,
  type LoadedImages,
} from './load-images';
import type { FivePoints } from './transforms/raw-image';
import { MAX_CLASSES } from './types';
import { expectPath } from '../util/expect';
import { expectOptions } from '../util/option-keys';

/**
 * A list file, one image per line: `relative/path label [x1 y1 ... x5 y5]`, paths relative to
 * `root` (default: the list file's folder), labels integers from 0.
 */
export class FileListDataset {
  readonly listFile: string;
  readonly root: string;
  readonly paths: string[] = [];
  readonly labels: Int32Array;
  /** Per image, when its line carries them. */
  readonly landmarks: (FivePoints | undefined)[] = [];
  /** Per image, the list file's line that names it (from 1), for messages. */
  readonly lines: number[] = [];
  readonly classes: number;

  constructor(listFile: string, options: { root?: string } = {}) {
    this.listFile = path.resolve(expectPath(listFile, 'listFile', 'a list file path'));
    expectOptions(options, 'options', { root: true });
    if (options.root !== undefined) expectPath(options.root, 'root', 'a folder path');
    this.root = path.resolve(options.root ?? path.dirname(this.listFile));
    const labels: number[] = [];
    const file = this.listFile;
    const seen = new Map<string, number>(); // image -> its index

    for (const { line, text } of readListLines(file, 'FileListDataset')) {
      const fields = text.split(/\s+/);
      if (fields.length !== 2 && fields.length !== 12) {
        // A path with a space in it is the usual cause: the fields are whitespace-separated.
        const spaced = fields.length > 2 ? '; a path may not hold spaces' : '';
        throw new Error(
          `${file}:${line}: expected 'path label' or 'path label x1 y1 ... x5 y5' but found ` +
            `${fields.length} fields${spaced}`,
        );
      }
      const label = Number(fields[1]);
      if (!/^\d+$/.test(fields[1]) || !(label < MAX_CLASSES)) {
        throw new Error(
          `${file}:${line}: expected a non-negative integer label but found '${fields[1]}' (the largest allowed is ${MAX_CLASSES - 1})`,
        );
      }
      // An image twice would be trained on twice, perhaps under two labels.
      const image = path.resolve(this.root, fields[0]);
      const first = seen.get(image);
      if (first !== undefined) {
        throw new Error(
          `${file}:${line}: ${fields[0]} is listed again (first on line ${this.lines[first]}, ` +
            `label ${labels[first]}; here label ${label})`,
        );
      }
      seen.set(image, this.paths.length);
      this.paths.push(image);
      this.lines.push(line);
      labels.push(label);
      this.landmarks.push(
        fields.length === 12 ? parseNumbers(fields.slice(2), file, line, 'landmarks') : undefined,
      );
    }
    if (this.paths.length === 0) throw new Error(`FileListDataset: ${file} lists no images`);
    this.labels = Int32Array.from(labels);
    this.classes = labels.reduce((m, l) => Math.max(m, l), 0) + 1;
  }

  get length(): number {
    return this.paths.length;
  }

  /** Decodes (or reads from the cache) every image with its label and landmarks. */
  load(options: Omit<LoadImagesOptions, 'labels'> = {}): Promise<LoadedImages> {
    const hasLandmarks = this.landmarks.some((l) => l !== undefined);
    return loadImages(
      this.paths,
      withDatasetLabels(
        { landmarks: hasLandmarks ? this.landmarks : undefined, ...options },
        this.labels,
        'FileListDataset',
      ),
    );
  }
}

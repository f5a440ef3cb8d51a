import * as fs from 'node:fs';
import * as path from 'node:path';
import { byCodePoint } from '../util/code-point-order';
import { loadImages, type LoadImagesOptions, type LoadedImages } from './load-images';

export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.bmp'];

function readDir(dir: string, who: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new Error(
      `${who}: cannot read folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/**
 * One folder per identity under `root` (the CASIA-WebFace layout, torchvision's ImageFolder):
 * class i is the i-th folder name in sorted order; JPEG, PNG and BMP files are found at any depth
 * inside it, in sorted order. Hidden entries are ignored. Scans once, synchronously.
 */
export class ImageFolderDataset {
  readonly root: string;
  readonly classNames: string[];
  readonly paths: string[];
  readonly labels: Int32Array;
  /** Images per class. */
  readonly classCounts: Int32Array;

  constructor(root: string) {
    const who = 'ImageFolderDataset';
    if (typeof root !== 'string' || root === '')
      throw new Error(`${who}: expected a folder path for root but received ${String(root)}`);
    this.root = path.resolve(root);
    const folders = readDir(this.root, who)
      .filter(
        (e) =>
          !e.name.startsWith('.') &&
          (e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(this.root, e.name)))),
      )
      .map((e) => e.name)
      .sort(byCodePoint);
    if (folders.length === 0)
      throw new Error(
        `${who}: ${this.root} holds no class folders (expected root/<identity>/<image>)`,
      );
    this.classNames = folders;
    const paths: string[] = [];
    const labels: number[] = [];
    this.classCounts = new Int32Array(folders.length);
    folders.forEach((name, label) => {
      const found = listImages(path.join(this.root, name), who);
      if (found.length === 0) {
        throw new Error(
          `${who}: class folder ${path.join(this.root, name)} holds no JPEG, PNG, WebP or BMP images`,
        );
      }
      for (const p of found) {
        paths.push(p);
        labels.push(label);
      }
      this.classCounts[label] = found.length;
    });
    this.paths = paths;
    this.labels = Int32Array.from(labels);
  }

  get classes(): number {
    return this.classNames.length;
  }

  get length(): number {
    return this.paths.length;
  }

  /** Decodes (or reads from the cache) every image with its label. */
  load(options: Omit<LoadImagesOptions, 'labels'> = {}): Promise<LoadedImages> {
    return loadImages(this.paths, { ...options, labels: this.labels });
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listImages(dir: string, who: string): string[] {
  const out: string[] = [];
  const entries = readDir(dir, who)
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => byCodePoint(a.name, b.name));
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() || (e.isSymbolicLink() && isDir(full))) out.push(...listImages(full, who));
    else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) out.push(full);
  }
  return out;
}

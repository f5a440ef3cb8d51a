import * as fs from 'node:fs';
import * as path from 'node:path';
import { byCodePoint } from '../util/code-point-order';
import { fileKind, type FileType } from '../util/regular-file';
import {
  loadImages,
  withDatasetLabels,
  type LoadImagesOptions,
  type LoadedImages,
} from './load-images';
import { LOCK_FILE } from './store/manifest';
import { expectPath } from '../util/expect';

export const IMAGE_EXTENSIONS: readonly string[] = [
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.bmp',
];

/** An entry a folder scan left out, and why. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

function readDir(dir: string, who: string): fs.Dirent[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.'))
      .sort((a, b) => byCodePoint(a.name, b.name));
  } catch (err) {
    throw new Error(`${who}: cannot read folder ${dir} (${errorCode(err)})`);
  }
}

function realPath(p: string, who: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch (err) {
    throw new Error(`${who}: cannot resolve ${p} (${errorCode(err)})`);
  }
}

/** Whether `inner` is `outer` or lies inside it (both real paths). */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/**
 * One folder entry as the scan sees it: its type (a symbolic link's target's), and its real
 * path given the real path of the folder holding it; or why its link cannot be followed.
 */
function follow(
  dir: string,
  dirReal: string,
  e: fs.Dirent,
  who: string,
): { type: FileType; real: string } | string {
  if (!e.isSymbolicLink()) return { type: e, real: path.join(dirReal, e.name) };
  const full = path.join(dir, e.name);
  let type: fs.Stats;
  try {
    type = fs.statSync(full);
  } catch (err) {
    return `a symbolic link whose target cannot be read (${errorCode(err)})`;
  }
  return { type, real: type.isDirectory() ? realPath(full, who) : full };
}

/**
 * One folder per identity under `root` (the CASIA-WebFace layout, torchvision's ImageFolder):
 * class i is the i-th folder name in sorted order; JPEG, PNG, WebP, GIF and BMP files are found at
 * any depth inside it, in sorted order. Hidden entries are ignored. Scans once, synchronously.
 *
 * Symbolic links are followed, but each folder is scanned once (by its real path), and never
 * one that holds the dataset root (a link like `personA/up -> ..`) or belongs to another class,
 * so no image enters twice through a folder link or under another identity. Those folders, and
 * image names that are not regular files (a FIFO, a broken link), are left out and listed in
 * `skipped`.
 */
export class ImageFolderDataset {
  readonly root: string;
  readonly classNames: string[];
  readonly paths: string[];
  readonly labels: Int32Array;
  /** Images per class. */
  readonly classCounts: Int32Array;
  /** Folders and files the scan left out, with the reason. */
  readonly skipped: SkippedEntry[] = [];

  constructor(root: string) {
    const who = 'ImageFolderDataset';
    this.root = path.resolve(expectPath(root, 'root', 'a folder path'));
    const entries = readDir(this.root, who);
    const scan = new FolderScan(realPath(this.root, who), this.skipped, who);
    const folders: { name: string; real: string }[] = [];
    for (const e of entries) {
      const found = follow(this.root, scan.rootReal, e, who);
      // Files (and broken links) beside the class folders are not classes.
      if (typeof found === 'string' || !found.type.isDirectory()) continue;
      const why = scan.refusal(found.real, undefined);
      if (why) this.skipped.push({ path: path.join(this.root, e.name), reason: why });
      else {
        scan.own(found.real, e.name, path.join(this.root, e.name));
        folders.push({ name: e.name, real: found.real });
      }
    }
    if (folders.length === 0) {
      // An interrupted prepare leaves its lock and no manifest: say so, not "no classes".
      const unfinished = entries.some((e) => e.name === LOCK_FILE);
      throw new Error(
        unfinished
          ? `${who}: ${this.root} is an image store whose preparation did not finish (${LOCK_FILE}, no manifest); prepare it again`
          : `${who}: ${this.root} holds no class folders (expected root/<identity>/<image>)`,
      );
    }
    this.classNames = folders.map((f) => f.name);
    const paths: string[] = [];
    const labels: number[] = [];
    this.classCounts = new Int32Array(folders.length);
    folders.forEach(({ name, real }, label) => {
      const dir = path.join(this.root, name);
      const found = scan.images(dir, real, name);
      if (found.length === 0) {
        const left = this.skipped.filter((s) => within(s.path, dir)).length;
        throw new Error(
          `${who}: class folder ${dir} holds no images (${IMAGE_EXTENSIONS.join(', ')} files)` +
            (left ? ` (${left} ${left === 1 ? 'entry' : 'entries'} left out: see skipped)` : ''),
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
    return loadImages(this.paths, withDatasetLabels(options, this.labels, 'ImageFolderDataset'));
  }
}

/** The walk over the class folders: which real folders are whose, and which were scanned. */
class FolderScan {
  /** Real path of each class folder -> its class name. */
  private readonly owners = new Map<string, string>();
  /** Real path of each folder scanned -> the path it was scanned under. */
  private readonly scanned = new Map<string, string>();

  constructor(
    readonly rootReal: string,
    private readonly skipped: SkippedEntry[],
    private readonly who: string,
  ) {}

  own(real: string, className: string, full: string): void {
    this.owners.set(real, className);
    this.scanned.set(real, full);
  }

  /** Why the folder at `real` is not scanned (for class `className`), or undefined. */
  refusal(real: string, className: string | undefined): string | undefined {
    if (within(this.rootReal, real)) return `leads to ${real}, which holds the dataset root`;
    for (let p = real; ; p = path.dirname(p)) {
      const owner = this.owners.get(p);
      if (owner !== undefined && owner !== className) {
        return `leads to ${real}, the folder of class ${owner}`;
      }
      if (p === path.dirname(p)) break;
    }
    const first = this.scanned.get(real);
    return first === undefined ? undefined : `leads to ${real}, already scanned as ${first}`;
  }

  /** The images under `dir` (real path `dirReal`, of class `className`), sorted, at any depth. */
  images(dir: string, dirReal: string, className: string): string[] {
    const out: string[] = [];
    for (const e of readDir(dir, this.who)) {
      const full = path.join(dir, e.name);
      const found = follow(dir, dirReal, e, this.who);
      if (typeof found === 'string') {
        this.skipped.push({ path: full, reason: found });
      } else if (found.type.isDirectory()) {
        const why = this.refusal(found.real, className);
        if (why) {
          this.skipped.push({ path: full, reason: why });
          continue;
        }
        this.scanned.set(found.real, full);
        out.push(...this.images(full, found.real, className));
      } else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) {
        if (found.type.isFile()) out.push(full);
        else
          this.skipped.push({ path: full, reason: `${fileKind(found.type)}, not a regular file` });
      }
    }
    return out;
  }
}

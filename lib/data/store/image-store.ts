import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readRegularFile } from '../../util/regular-file';
import type { SkippedImage } from '../image-cache';
import type { SkippedEntry } from '../image-folder-dataset';
import { checkShards, type ShardProblem } from './check-shards';
import { ImageReader } from './image-reader';
import { LABELS_FILE, MANIFEST_FILE, readManifest, type StoreManifest } from './manifest';
import { expectPath } from '../../util/expect';
import { expectOptions } from '../../util/option-keys';

/** What prepareImageStore did to make the store (absent on a store opened as it was). */
export interface StorePreparation {
  /** The complete store was already there and intact: nothing was decoded. */
  reused: boolean;
  /** Shards kept from an earlier run (an interrupted one, or one with shards since damaged). */
  resumedShards: number;
  /** Shards written by this run (rebuilt ones included). */
  builtShards: number;
  /** Shards that failed their check (missing, wrong size, CRC) and were rebuilt. */
  rebuilt: ShardProblem[];
  /** Why an existing store was discarded as a whole (its inputs changed), when it was. */
  stale?: string;
  /** Leftover temporary files of an interrupted run, removed. */
  removedTemp: string[];
  /** Images decoded by this run. */
  decoded: number;
  seconds: number;
}

export interface OpenImageStoreOptions {
  /** Check every shard's CRC-32 before use (reads the whole store once); default true. */
  verify?: boolean;
  /** Called after each shard checked, with (checked, shards). */
  onVerify?: (checked: number, total: number) => void;
}

/**
 * A prepared image store on disk (see manifest.ts for its layout): n uint8 height x width x 3
 * images in fixed-size shards, read a batch at a time by native code, and their labels (held in
 * memory: 4 bytes an image). Memory does not grow with the number of images otherwise.
 */
export class ImageStore {
  readonly dir: string;
  readonly n: number;
  readonly height: number;
  readonly width: number;
  readonly labels: Int32Array;
  readonly classes: number;
  readonly classNames: readonly string[];
  readonly shards: number;
  readonly imagesPerShard: number;
  readonly skipped: readonly SkippedImage[];
  /** What the source's scan left out (special files, folder links not followed). */
  readonly leftOut: readonly SkippedEntry[];
  readonly digest: string;
  readonly source: StoreManifest['source'];
  /** Set by prepareImageStore. */
  preparation?: StorePreparation;
  private readerHandle: ImageReader | undefined;

  constructor(dir: string, manifest: StoreManifest, labels: Int32Array) {
    this.dir = dir;
    this.n = manifest.images;
    this.height = manifest.height;
    this.width = manifest.width;
    this.labels = labels;
    this.classes = manifest.classes;
    this.classNames = manifest.classNames;
    this.shards = manifest.shards.length;
    this.imagesPerShard = manifest.imagesPerShard;
    this.skipped = manifest.skipped;
    this.leftOut = manifest.leftOut ?? [];
    this.digest = manifest.digest;
    this.source = manifest.source;
    this.readerHandle = ImageReader.fromShards(
      manifest.shards.map((s) => path.join(dir, s.file)),
      manifest.imagesPerShard,
      manifest.images,
      manifest.height,
      manifest.width,
    );
  }

  /** The batch gather over this store's shards (what DataLoader uses). */
  get reader(): ImageReader {
    if (!this.readerHandle) throw new Error(`ImageStore: ${this.dir} is closed`);
    return this.readerHandle;
  }

  /** Images `indices`, whole, into a new (or the given) n x height x width x 3 buffer. */
  async read(indices: ArrayLike<number>, out?: Uint8Array): Promise<Uint8Array> {
    const list = Int32Array.from(indices);
    const buffer = out ?? new Uint8Array(list.length * this.height * this.width * 3);
    await this.reader.gather(list, buffer);
    return buffer;
  }

  /** Closes the shard files; throws while a gather is in flight. */
  close(): void {
    this.readerHandle?.close();
    this.readerHandle = undefined;
  }
}

/**
 * Opens a complete store. Shard sizes and the labels' CRC are always checked; with `verify`
 * (the default) every shard's CRC-32 too. A store that fails is never read: the error names the
 * shard and says to run prepare again, which rebuilds exactly the bad shards.
 */
export async function openImageStore(
  dir: string,
  options: OpenImageStoreOptions = {},
): Promise<ImageStore> {
  const root = path.resolve(expectPath(dir, 'dir', 'an image store folder path'));
  expectOptions<OpenImageStoreOptions>(options, 'options', { verify: true, onVerify: true });
  const manifest = await readManifest(root);
  if (!manifest) {
    throw new Error(`${root} is not an image store: it has no ${MANIFEST_FILE}`);
  }
  if (!manifest.complete) {
    throw new Error(
      `${root} is an unfinished image store (${manifest.shards.length} shards written); run prepare again to finish it`,
    );
  }
  const problems = await checkShards(root, manifest.shards, manifest.height * manifest.width * 3, {
    crc: options.verify ?? true,
    onShard: (k) => options.onVerify?.(k + 1, manifest.shards.length),
  });
  if (problems.length > 0) {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more shards)` : '';
    throw new Error(
      `image store ${root}: shard ${first.file} is damaged: ${first.detail}${more}; run prepare again to rebuild it`,
    );
  }
  const labels = await readLabels(root, manifest);
  return new ImageStore(root, manifest, labels);
}

/** The store's labels, checked against the manifest's count, CRC and classes. */
export async function readLabels(dir: string, manifest: StoreManifest): Promise<Int32Array> {
  const file = path.join(dir, LABELS_FILE);
  let bytes: Buffer;
  try {
    // At most the bytes the manifest declares: a larger file is damaged, and never read whole.
    bytes = await readRegularFile(file, { noun: 'labels file', maxBytes: manifest.images * 4 });
  } catch (err) {
    throw new Error(`image store ${dir}: ${(err as Error).message}`);
  }
  if (bytes.length !== manifest.images * 4 || zlib.crc32(bytes) !== manifest.labels?.crc32) {
    throw new Error(
      `image store ${dir}: ${file} is damaged (${bytes.length} bytes for ${manifest.images} labels, or a CRC mismatch); run prepare again to rebuild it`,
    );
  }
  const labels = new Int32Array(manifest.images);
  Buffer.from(labels.buffer).set(bytes);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= manifest.classes) {
      throw new Error(
        `image store ${dir}: label ${labels[i]} of image ${i} is outside 0..${manifest.classes - 1}`,
      );
    }
  }
  return labels;
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BadImageError } from '../bad-image-error';
import { DecodePool } from '../decode-pool';
import { checkMaxPixels } from '../image-decoder';
import type { SkippedImage } from '../image-cache';
import type { SkippedEntry } from '../image-folder-dataset';
import { LandmarksFile } from '../landmarks-file';
import type { OnBadImage } from '../load-images';
import type { FivePoints } from '../transforms/raw-image';
import { CenterCrop } from '../transforms/center-crop';
import { FaceAlign } from '../transforms/face-align';
import type { DeterministicTransform } from '../transforms/transform';
import { writeFileAtomic } from '../../util/atomic-write';
import { checkShards, type ShardProblem } from './check-shards';
import { decodeInOrder } from './decode-in-order';
import type { ImageSource, SourceImage } from './image-source';
import { ImageStore, readLabels, type StorePreparation } from './image-store';
import {
  isStoreFile,
  isTempFile,
  refuseForeignFiles,
  LABELS_FILE,
  LOCK_FILE,
  readManifest,
  MAX_SHARD_BYTES,
  SHARD_BYTES,
  STORE_FORMAT,
  STORE_VERSION,
  writeManifest,
  type StoreManifest,
} from './manifest';
import { openSource } from './open-source';
import { ShardAssembler } from './shard-assembler';
import { ShardWriter } from './shard-writer';
import { storeDigest } from './store-digest';
import { lockFolder } from '../../util/folder-lock';
import { makeFolder } from '../../util/make-folder';
import { expectOptions, type OptionKeys } from '../../util/option-keys';

/** What prepareImageStore reports while it works (the CLI draws it; the library never prints). */
export type PrepareEvent =
  /** An existing store was discarded as a whole: its inputs changed, or it is unreadable. */
  | { type: 'stale'; reason: string }
  /** The source's scan left these entries out (special files, folder links not followed). */
  | { type: 'left-out'; location: string; entries: readonly SkippedEntry[] }
  /** Work begins: `done` of `images` source images are in shards kept from an earlier run. */
  | { type: 'start'; images: number; done: number; shards: number }
  /** Kept shards checked (size and CRC-32) so far. */
  | { type: 'verify'; checked: number; total: number }
  /** A kept shard failed its check: it will be rebuilt, never read. */
  | { type: 'damaged'; problem: ShardProblem }
  /** A complete store's labels file failed its check: it is written again from the source. */
  | { type: 'damaged-labels'; reason: string }
  /** Source images decoded (or skipped) so far, of `total`. */
  | { type: 'decode'; done: number; total: number }
  | { type: 'bad-image'; image: SkippedImage }
  /**
   * The source (`location`) gives images landmarks of their own (a list file's x1 y1 ... x5 y5)
   * but no transform aligns on them: told once a run, at the first such image (`where`: its line).
   */
  | { type: 'landmarks-unused'; location: string; image: string; where?: string }
  /** A shard is durable and recorded in the manifest. */
  | { type: 'shard'; shard: number; file: string; images: number };

export interface PrepareImageStoreOptions {
  /** An ImageSource (left open: close it yourself), or a path: a folder per identity, or a file list. */
  source: ImageSource | string;
  /**
   * The store's folder (created). Only the store's own files in it are ever replaced: a
   * manifest.json or labels.bin of something else there is refused.
   */
  out: string;
  /**
   * Discard a complete store of other inputs found in `out` and prepare anew (a cache's); it is
   * removed before the new one is built, so a run that then fails leaves neither. By default
   * that is refused, so that a wrong source, or a run that then fails, loses no finished store;
   * an unfinished one is always started over.
   */
  replaceOtherStore?: boolean;
  /** Run once per image in the decode workers (Resize, CenterCrop, FaceAlign). */
  transforms?: readonly DeterministicTransform[];
  /** A landmark file (paths relative to the source's folder) for images without their own. */
  landmarks?: string | LandmarksFile;
  /** 'error' (default): stop at the first bad image, naming it. 'skip': leave it out, report it. */
  onBadImage?: OnBadImage;
  /** Decode threads (default: the cores available); or a pool of your own. */
  threads?: number;
  pool?: DecodePool;
  /** Images per shard; default as many as fit in 64 MiB. */
  imagesPerShard?: number;
  /** Refuse images over this many pixels, from their headers (default 50 million). */
  maxPixels?: number;
  onProgress?: (event: PrepareEvent) => void;
  /**
   * Stops the run between windows of about a shard's images (and between shards checked): it
   * rejects with the signal's reason once the shards finished are durable and recorded, so the
   * next run on the folder continues after them.
   */
  signal?: AbortSignal;
}

/**
 * Decodes a source into an image store (layout: manifest.ts) and opens it. Resumable and
 * self-repairing: run again on the same folder, it keeps every recorded shard whose size and
 * CRC-32 check out, rebuilds the ones that do not (reported in `preparation.rebuilt` and as
 * 'damaged' events), continues after the last complete shard of an interrupted run, and starts
 * over when the inputs (source fingerprint, labels, transforms, landmarks) changed. Memory stays
 * a few shard buffers whatever the size of the source.
 */
export async function prepareImageStore(options: PrepareImageStoreOptions): Promise<ImageStore> {
  const started = performance.now();
  checkOptions(options);
  const source =
    typeof options.source === 'string' ? await openSource(options.source) : options.source;
  try {
    if (source.length === 0) throw new Error(`${source.kind} source ${source.location} is empty`);
    const dir = path.resolve(options.out);
    if (dir === source.location || dir.startsWith(source.location + path.sep)) {
      throw new Error(`the store folder ${dir} must not be inside the source ${source.location}`);
    }
    const firstMade = await makeFolder(dir, 'the store folder');
    try {
      const unlock = await lockFolder(dir, LOCK_FILE, 'being prepared by');
      try {
        const store = await new Preparation(dir, source, options).run();
        store.preparation!.seconds = (performance.now() - started) / 1000;
        return store;
      } finally {
        await unlock();
      }
    } catch (error) {
      if (firstMade) await removeEmptyFolders(dir, firstMade);
      throw error;
    }
  } finally {
    if (typeof options.source === 'string') await source.close();
  }
}

/** The folders this run made, `dir` up to `firstMade`, where a failed run left them empty. */
async function removeEmptyFolders(dir: string, firstMade: string): Promise<void> {
  for (let folder = dir; ; folder = path.dirname(folder)) {
    const removed = await fs.promises.rmdir(folder).then(
      () => true,
      () => false, // not empty (or gone): keep it and what holds it
    );
    if (!removed || folder === firstMade || path.dirname(folder) === folder) return;
  }
}

const PREPARE_OPTION_KEYS: OptionKeys<PrepareImageStoreOptions> = {
  source: true,
  out: true,
  replaceOtherStore: true,
  transforms: true,
  landmarks: true,
  onBadImage: true,
  threads: true,
  pool: true,
  imagesPerShard: true,
  maxPixels: true,
  onProgress: true,
  signal: true,
};

function checkOptions(options: PrepareImageStoreOptions): void {
  const who = 'prepareImageStore';
  expectOptions(
    options,
    'options',
    PREPARE_OPTION_KEYS,
    'an options object ({ source, out, ... })',
  );
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new Error(`${who}: expected an AbortSignal for signal`);
  }
  if (typeof options.source !== 'string' && typeof options.source?.read !== 'function')
    throw new Error(`${who}: expected a path or an ImageSource for source`);
  if (typeof options.out !== 'string' || options.out === '')
    throw new Error(`${who}: expected a folder path for out`);
  const bad = options.onBadImage;
  if (bad !== undefined && bad !== 'error' && bad !== 'skip')
    throw new Error(
      `${who}: expected 'error' or 'skip' for onBadImage but received ${String(bad)}`,
    );
  const per = options.imagesPerShard;
  if (per !== undefined && (!Number.isSafeInteger(per) || per < 1))
    throw new Error(
      `${who}: expected positive integer for imagesPerShard but received ${String(per)}`,
    );
  for (const t of options.transforms ?? []) {
    if ((t as { random?: boolean }).random !== false) {
      throw new Error(
        `${who}: random transforms (RandomCrop, RandomHorizontalFlip) belong to the DataLoader, not the store`,
      );
    }
  }
}

/** imagesPerShard too large for one shard of these images. */
export class ShardSizeError extends RangeError {
  override name = 'ShardSizeError';

  constructor(
    readonly imagesPerShard: number,
    readonly height: number,
    readonly width: number,
    /** What the message calls imagesPerShard (the CLI's flag, from the CLI). */
    option = 'imagesPerShard',
  ) {
    const most = Math.floor(MAX_SHARD_BYTES / (height * width * 3));
    const bytes = imagesPerShard * height * width * 3;
    super(
      `${option} ${imagesPerShard} of ${height}x${width} images makes shards of ` +
        `${(bytes / 2 ** 30).toFixed(1)} GiB, over the ${MAX_SHARD_BYTES / 2 ** 30} GiB a shard ` +
        `may hold: give at most ${most}`,
    );
  }
}

/** A shard is one buffer while it fills: imagesPerShard given too large is refused. */
export function checkShardSize(
  imagesPerShard: number,
  height: number,
  width: number,
  option?: string,
): void {
  if (imagesPerShard * height * width * 3 <= MAX_SHARD_BYTES) return;
  throw new ShardSizeError(imagesPerShard, height, width, option);
}

/** The images' size after the transforms, when the last one fixes it (a crop, an alignment). */
export function fixedOutputSize(
  transforms: readonly DeterministicTransform[],
): { height: number; width: number } | undefined {
  const last = transforms.at(-1);
  return last instanceof CenterCrop || last instanceof FaceAlign ? last : undefined;
}

/** One prepare run on a locked folder. */
class Preparation {
  private readonly transforms: readonly DeterministicTransform[];
  private readonly onBadImage: OnBadImage;
  private readonly emit: (event: PrepareEvent) => void;
  private readonly report: StorePreparation = {
    reused: false,
    resumedShards: 0,
    builtShards: 0,
    rebuilt: [],
    removedTemp: [],
    decoded: 0,
    seconds: 0,
  };
  private readonly landmarks?: LandmarksFile;
  /** The store's labels, index = store image. */
  private readonly labels: Int32Array;
  private manifest!: StoreManifest;

  constructor(
    private readonly dir: string,
    private readonly source: ImageSource,
    private readonly options: PrepareImageStoreOptions,
  ) {
    this.transforms = options.transforms ?? [];
    this.onBadImage = options.onBadImage ?? 'error';
    this.emit = options.onProgress ?? (() => {});
    if (options.landmarks !== undefined) {
      this.landmarks =
        typeof options.landmarks === 'string'
          ? new LandmarksFile(options.landmarks)
          : options.landmarks;
    }
    this.labels = new Int32Array(source.length);
  }

  async run(): Promise<ImageStore> {
    this.options.signal?.throwIfAborted();
    const { leftOut } = this.source;
    if (leftOut?.length) {
      this.emit({ type: 'left-out', location: this.source.location, entries: leftOut });
    }
    await refuseForeignFiles(this.dir);
    // Before a store whose inputs changed is discarded: a size refused later would lose it.
    await this.checkShardSizeFirst();
    this.report.removedTemp = await removeFiles(this.dir, isTempFile);
    const digest = await storeDigest(this.source, this.transforms, this.landmarks, {
      imagesPerShard: this.options.imagesPerShard,
      maxPixels: checkMaxPixels(this.options.maxPixels, 'prepareImageStore'),
    });
    const kept = await this.existing(digest);
    this.manifest = kept ?? this.freshManifest(digest);
    // The scan's, not the images': recorded afresh, a store kept or not.
    const scanned = [...(leftOut ?? [])];
    const leftOutChanged = JSON.stringify(this.manifest.leftOut ?? []) !== JSON.stringify(scanned);
    this.manifest.leftOut = scanned;
    const problems = kept ? await this.check(kept) : [];
    if (kept?.complete && problems.length === 0) {
      const labels = await readLabels(this.dir, kept).catch((error: Error) => {
        // Its own advice (run prepare again) is what happens next.
        const reason = error.message.replace(/; run prepare again to rebuild it$/, '');
        this.emit({ type: 'damaged-labels', reason });
        return undefined;
      });
      this.report.reused = labels !== undefined;
      if (labels) {
        if (leftOutChanged) await writeManifest(this.dir, this.manifest);
        return this.open(labels);
      }
    }
    this.restoreLabels();
    this.report.resumedShards = this.manifest.shards.length - problems.length;
    const writer = new ShardWriter(this.dir, this.manifest, (record, k) => {
      this.report.builtShards++;
      this.emit({ type: 'shard', shard: k, file: record.file, images: record.images });
    });
    for (const { shard } of problems) {
      if (shard < this.manifest.shards.length) await this.rebuild(shard, writer);
    }
    if (!this.manifest.complete) await this.continueBuild(writer);
    return this.finish();
  }

  /** imagesPerShard given, checked where the image size is known before decoding. */
  private async checkShardSizeFirst(): Promise<void> {
    const per = this.options.imagesPerShard;
    if (per === undefined) return;
    const size = fixedOutputSize(this.transforms) ?? (await this.sizeOfSameTransforms());
    if (size) checkShardSize(per, size.height, size.width);
  }

  /** The size of a store in the folder prepared with these same transforms, if there is one. */
  private async sizeOfSameTransforms(): Promise<StoreManifest | undefined> {
    const kept = await readManifest(this.dir).catch(() => undefined);
    const specs = JSON.stringify(this.transforms.map((t) => t.spec()));
    return kept && kept.height > 0 && JSON.stringify(kept.transforms) === specs ? kept : undefined;
  }

  /** The manifest of a store already in the folder that may be kept, or undefined. */
  private async existing(digest: string): Promise<StoreManifest | undefined> {
    let manifest: StoreManifest | undefined;
    let stale: string | undefined;
    try {
      manifest = await readManifest(this.dir);
    } catch (err) {
      stale = (err as Error).message;
    }
    if (manifest && manifest.digest !== digest) {
      if (manifest.complete && !this.options.replaceOtherStore) {
        throw new Error(
          `${this.dir} holds a complete image store of other inputs (${this.differences(manifest)}); ` +
            'prepare does not discard a finished store unless told to replace it (replaceOtherStore; ' +
            "the CLI's --replace): remove it, or prepare into another folder",
        );
      }
      stale =
        'its inputs changed (source files, labels, transforms, landmarks, images per shard or ' +
        `pixel limit): digest ${manifest.digest.slice(0, 12)} is now ${digest.slice(0, 12)}`;
      manifest = undefined;
    }
    if (stale) {
      this.report.stale = stale;
      this.emit({ type: 'stale', reason: stale });
    }
    if (!manifest) {
      await removeFiles(this.dir, isStoreFile);
      return undefined;
    }
    // Shards renamed into place by a killed run but never recorded are rebuilt from scratch.
    const recorded = new Set(manifest.shards.map((s) => s.file));
    await removeFiles(this.dir, (name) => /^shard-\d+\.bin$/.test(name) && !recorded.has(name));
    const end = keptEnd(manifest, this.source.length);
    const skips = manifest.skipped.filter((s) => s.index < end);
    if (this.onBadImage === 'error' && skips.length > 0) {
      const first = skips[0];
      throw new Error(
        `${this.dir} was prepared with bad images left out (the first: ${first.path}: ${first.reason}); pass onBadImage: 'skip' (--skip-bad-images) to use it`,
      );
    }
    return manifest;
  }

  /** What differs between a store's inputs and this run's, as far as its manifest tells. */
  private differences(m: StoreManifest): string {
    const { source } = this;
    const found: string[] = [];
    if (m.source.kind !== source.kind || m.source.location !== source.location) {
      found.push(`made from ${m.source.kind} source ${m.source.location}, not ${source.location}`);
    } else if (m.source.images !== source.length) {
      found.push(`${m.source.images} source images, now ${source.length}`);
    }
    const specs = JSON.stringify(this.transforms.map((t) => t.spec()));
    if (JSON.stringify(m.transforms) !== specs) {
      found.push(`transforms ${JSON.stringify(m.transforms)}, now ${specs}`);
    }
    const per = this.options.imagesPerShard;
    if (per !== undefined && per !== m.imagesPerShard) {
      found.push(`${m.imagesPerShard} images per shard, now ${per}`);
    }
    if (found.length > 0) return found.join('; ');
    return 'its source files, labels, landmarks, images per shard or pixel limit changed';
  }

  private freshManifest(digest: string): StoreManifest {
    const { source } = this;
    let classes = source.classNames.length;
    if (classes === 0) for (const l of source.labels) classes = Math.max(classes, l + 1);
    return {
      format: STORE_FORMAT,
      version: STORE_VERSION,
      complete: false,
      digest,
      source: { kind: source.kind, location: source.location, images: source.length },
      transforms: this.transforms.map((t) => t.spec()),
      height: 0,
      width: 0,
      imagesPerShard: 0,
      images: 0,
      classes,
      classNames: [],
      shards: [],
      skipped: [],
    };
  }

  private async check(manifest: StoreManifest): Promise<ShardProblem[]> {
    const total = manifest.shards.length;
    const problems = await checkShards(this.dir, manifest.shards, this.imageBytes(), {
      crc: true,
      onShard: (k) => {
        this.emit({ type: 'verify', checked: k + 1, total });
        this.options.signal?.throwIfAborted();
      },
    });
    for (const problem of problems) this.emit({ type: 'damaged', problem });
    this.report.rebuilt = problems;
    return problems;
  }

  /** Labels of the images in kept shards: the source's, less the skipped images. */
  private restoreLabels(): void {
    const end = keptEnd(this.manifest, this.source.length);
    // Skips past the last kept shard belong to work that is redone.
    this.manifest.skipped = this.manifest.skipped.filter((s) => s.index < end);
    const left = new Set(this.manifest.skipped.map((s) => s.index));
    let k = 0;
    for (let i = 0; i < end; i++) if (!left.has(i)) this.labels[k++] = this.source.labels[i];
    if (k !== this.manifest.images) {
      throw new Error(
        `${this.dir}: the manifest records ${this.manifest.images} images from ${end} source images with ${left.size} skipped`,
      );
    }
  }

  private imageBytes(): number {
    return this.manifest.height * this.manifest.width * 3;
  }

  /** Decodes shard k's source range again and replaces the shard. */
  private async rebuild(k: number, writer: ShardWriter): Promise<void> {
    const record = this.manifest.shards[k];
    const assembler = new ShardAssembler(writer, this.manifest.imagesPerShard, this.imageBytes(), {
      shard: k,
      sourceIndex: record.sourceStart,
      stored: k * this.manifest.imagesPerShard,
    });
    await settleOnError(writer, () =>
      this.decode(record.sourceStart, record.sourceEnd, () => assembler, false),
    );
    assembler.end(record.sourceEnd);
    await writer.flush();
    const now = this.manifest.shards[k];
    if (assembler.nextShard !== k + 1 || now.images !== record.images) {
      // The source no longer gives what it gave (a decoder change): what follows shifts too.
      this.manifest.shards.length = k;
      this.manifest.complete = false;
      this.manifest.images = k * this.manifest.imagesPerShard;
      this.restoreLabels();
      await writeManifest(this.dir, this.manifest);
    }
  }

  /** Decodes from after the last recorded shard to the end of the source. */
  private async continueBuild(writer: ShardWriter): Promise<void> {
    const { shards } = this.manifest;
    const from = shards.length > 0 ? shards[shards.length - 1].sourceEnd : 0;
    this.emit({ type: 'start', images: this.source.length, done: from, shards: shards.length });
    let assembler: ShardAssembler | undefined;
    const start = { shard: shards.length, sourceIndex: from, stored: this.manifest.images };
    const assemblerFor = () => {
      // The first image fixes the geometry of a new store.
      assembler ??= new ShardAssembler(
        writer,
        this.manifest.imagesPerShard,
        this.imageBytes(),
        start,
      );
      return assembler;
    };
    if (this.manifest.height > 0) assemblerFor();
    await settleOnError(writer, () =>
      this.decode(from, this.source.length, assemblerFor, true, writer),
    );
    assembler?.end(this.source.length);
    await writer.flush();
    if (this.manifest.images === 0) {
      const first = this.manifest.skipped[0];
      throw new Error(
        `none of the ${this.source.length} images of ${this.source.location} could be decoded; the first, ${first?.path}: ${first?.reason}`,
      );
    }
  }

  private async decode(
    start: number,
    end: number,
    assemblerFor: () => ShardAssembler,
    report: boolean,
    writer?: ShardWriter,
  ): Promise<void> {
    const pool = this.options.pool ?? DecodePool.shared(this.options.threads);
    let firstName = '';
    let landmarksUnused = !this.transforms.some((t) => t instanceof FaceAlign);
    await decodeInOrder(
      this.source,
      start,
      end,
      {
        pool,
        transforms: this.transforms,
        landmarksFor: this.landmarks ? this.landmarkLookup() : undefined,
        maxPixels: this.options.maxPixels,
        // About a shard per pool run: the workers' idle tail at the end of a run stays small.
        windowSize: () =>
          Math.min(4096, this.manifest.imagesPerShard || this.options.imagesPerShard || 256),
        // Decoding runs ahead of the disk by at most a shard or so.
        afterWindow: async () => {
          if (writer && writer.pending > 1) await writer.flush();
          this.options.signal?.throwIfAborted();
        },
      },
      (index, image, outcome) => {
        this.report.decoded++;
        if (report) this.emit({ type: 'decode', done: index + 1, total: end });
        if (landmarksUnused && image.landmarks) {
          landmarksUnused = false;
          const { location } = this.source;
          this.emit({ type: 'landmarks-unused', location, image: image.name, where: image.where });
        }
        if (!outcome.ok) return this.bad(index, image, outcome.error, report);
        const { height, width, data } = outcome.image;
        const m = this.manifest;
        if (m.height === 0) {
          m.height = height;
          m.width = width;
          m.imagesPerShard =
            this.options.imagesPerShard ??
            Math.max(1, Math.floor(SHARD_BYTES / (height * width * 3)));
          checkShardSize(m.imagesPerShard, height, width);
          firstName = image.name;
        } else if (height !== m.height || width !== m.width) {
          throw new Error(
            `${image.name} is ${height}x${width} after the transforms but the store's images are ${m.height}x${m.width}` +
              `${firstName ? ` (as ${firstName})` : ''}; add a Resize and CenterCrop (--size HxW) or FaceAlign so every image has one size`,
          );
        }
        const assembler = assemblerFor();
        this.labels[assembler.stored] = image.label;
        assembler.add(index, data);
      },
    );
  }

  private bad(index: number, image: SourceImage, reason: string, report: boolean): void {
    const where = image.where ? ` (${image.where})` : '';
    const skipped = { index, path: image.name, reason: reason + where };
    if (this.onBadImage === 'error') throw new BadImageError([skipped]);
    if (report) this.manifest.skipped.push(skipped);
    this.emit({ type: 'bad-image', image: skipped });
  }

  private landmarkLookup(): (image: SourceImage) => FivePoints {
    const file = this.landmarks!;
    const location = this.source.location;
    const base = fs.statSync(location).isDirectory() ? location : path.dirname(location);
    return (image) => {
      const relative = path.relative(base, image.name);
      const found = file.get(relative);
      if (!found)
        throw new Error(`${file.file}: no landmarks for ${relative} (image ${image.name})`);
      return found;
    };
  }

  /** Writes the labels, then marks the manifest complete. */
  private async finish(): Promise<ImageStore> {
    const m = this.manifest;
    const labels = this.labels.slice(0, m.images);
    const bytes = new Uint8Array(labels.buffer);
    await writeFileAtomic(path.join(this.dir, LABELS_FILE), bytes, { ownFile: true });
    m.labels = { file: LABELS_FILE, crc32: zlib.crc32(bytes) };
    m.classNames = [...this.source.classNames];
    m.complete = true;
    await writeManifest(this.dir, m);
    return this.open(labels);
  }

  private open(labels: Int32Array): ImageStore {
    const store = new ImageStore(this.dir, this.manifest, labels);
    store.preparation = this.report;
    return store;
  }
}

/** Runs `work`; if it fails, lets the shards already handed to the writer land first. */
async function settleOnError(writer: ShardWriter, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    await writer.flush().catch(() => {});
    throw err;
  }
}

/** Where the source images a manifest accounts for end: all of them once complete. */
function keptEnd(manifest: StoreManifest, sourceLength: number): number {
  if (manifest.complete) return sourceLength;
  return manifest.shards.length > 0 ? manifest.shards[manifest.shards.length - 1].sourceEnd : 0;
}

/** Removes the folder's files `which` selects; returns their names. */
async function removeFiles(dir: string, which: (name: string) => boolean): Promise<string[]> {
  const names = (await fs.promises.readdir(dir)).filter(which);
  for (const name of names) await fs.promises.rm(path.join(dir, name), { force: true });
  return names;
}

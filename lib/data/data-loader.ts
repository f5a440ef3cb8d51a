import * as crypto from 'node:crypto';
import { expectInteger, fail } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { Random } from '../util/random';
import { batchesPerEpoch, rankBatchRange } from './rank-share';
import { ImageReader, type CropWindow } from './store/image-reader';
import { ImageStore } from './store/image-store';
import { CenterCrop } from './transforms/center-crop';
import { RandomCrop } from './transforms/random-crop';
import { RandomHorizontalFlip } from './transforms/random-horizontal-flip';
import type { Batch, BatchSettings, BatchSource, ImageSet, Labelling } from './types';

export type RandomTransform = RandomCrop | RandomHorizontalFlip;

/**
 * What a DataLoader applies per batch, in this order: a CenterCrop (fixed: e.g. 112x112 store
 * images for the 112x96 nets), a RandomCrop, a RandomHorizontalFlip; each at most once.
 */
export type LoaderTransform = CenterCrop | RandomTransform;

export interface DataLoaderOptions {
  batchSize: number;
  /** Reorder every epoch (seeded); default true. */
  shuffle?: boolean;
  seed?: number;
  /** Leave out the last, short batch of an epoch; default false (as torch's DataLoader). */
  dropLast?: boolean;
  /** Batches gathered ahead while the consumer works on one; default 2. */
  prefetch?: number;
  /**
   * Per-batch transforms: CenterCrop, then RandomCrop and RandomHorizontalFlip, the random ones
   * seeded by (seed, epoch, batch), and the rank when distributed.
   */
  transforms?: readonly LoaderTransform[];
  /** Number of classes; default max label + 1. */
  classes?: number;
  /**
   * Distributed: this process trains on its rank's part of every batch (lib/data/rank-share.ts);
   * batchSize stays the whole step's. Default rank 0 of 1.
   */
  rank?: number;
  worldSize?: number;
}

const LOADER_OPTION_KEYS: OptionKeys<DataLoaderOptions> = {
  batchSize: true,
  shuffle: true,
  seed: true,
  dropLast: true,
  prefetch: true,
  transforms: true,
  classes: true,
  rank: true,
  worldSize: true,
};

/**
 * The largest batchSize: far beyond any batch a step can train on (the paper's is 256), so a
 * typo's size is refused at once. A batch never holds more images than the set, whatever it is.
 */
export const MAX_BATCH_SIZE = 1_048_576;

function expectFlag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail('a boolean', name, value);
  return value;
}

// Stream tags so the shuffle and the augmentation never share random numbers.
const ORDER = 0;
const AUGMENT = 1;

interface Slot {
  images: Uint8Array;
  labels: Int32Array;
  flip: Uint8Array;
  indices: Int32Array;
  offsets: Int32Array;
}

/**
 * Batches over an in-memory ImageSet or an on-disk ImageStore, alike: for the same images and
 * seed both yield the same bytes. Epoch e's order is a seeded permutation of (seed, e); batch b's
 * augmentation is drawn from (seed, e, b), so `batches(e, b)` after a restart yields exactly what
 * an uninterrupted run would have. Distributed, each rank gathers only its part of every batch
 * (lib/data/rank-share.ts), its augmentation drawn from (seed, e, b, rank). Each batch is one native gather (ImageReader) into a reused
 * buffer, with the centre and random crops fused in and run off the event loop; the flip is a
 * mask the consumer applies (the native training step mirrors while it converts to floats).
 * Only an ImageSet read in order without crops is served as views, with no gather. A yielded
 * batch's arrays stay valid until the consumer asks for the batch after the next one; copy to
 * keep. Iterations at once (two epochs, say) each get buffers of their own.
 */
export class DataLoader implements BatchSource {
  readonly classes: number;
  readonly batchesPerEpoch: number;
  readonly height: number;
  readonly width: number;
  readonly batchSize: number;
  readonly rank: number;
  readonly worldSize: number;
  private readonly n: number;
  private readonly labels: Int32Array;
  private readonly set?: ImageSet;
  private readonly store?: ImageStore;
  private ownReader?: ImageReader;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private readonly prefetch: number;
  private readonly window: CropWindow;
  private readonly centre?: CenterCrop;
  private readonly crop?: RandomCrop;
  private readonly flip?: RandomHorizontalFlip;
  /** Rings of batch buffers no iteration holds now, kept for the next. */
  private readonly freeRings: Slot[][] = [];
  private orderEpoch = -1;
  private orderCache = new Int32Array(0);
  private labellingCache?: Labelling;

  constructor(images: ImageSet | ImageStore, options: DataLoaderOptions) {
    const who = 'DataLoader';
    expectOptions(
      options,
      'options',
      LOADER_OPTION_KEYS,
      'DataLoader options ({ batchSize, shuffle?, seed?, ... })',
    );
    let height: number;
    let width: number;
    if (images instanceof ImageStore) {
      this.store = images;
      this.n = images.n;
      this.labels = images.labels;
      ({ height, width } = images);
    } else {
      const set = images;
      if (!set || !(set.images instanceof Uint8Array))
        throw new Error(`${who}: expected an ImageSet or an ImageStore for images`);
      if (set.images.length !== set.n * set.height * set.width * 3) {
        throw new Error(
          `${who}: the set claims ${set.n}x${set.height}x${set.width}x3 but holds ${set.images.length} bytes`,
        );
      }
      if (!set.labels)
        throw new Error(`${who}: the image set has no labels; training batches need them`);
      if (set.labels.length !== set.n)
        throw new Error(`${who}: expected ${set.n} labels but the set has ${set.labels.length}`);
      this.set = set;
      this.n = set.n;
      this.labels = set.labels;
      ({ height, width } = set);
    }
    const batchSize = expectInteger(options.batchSize, 'batchSize', 1, MAX_BATCH_SIZE);
    this.batchSize = batchSize;
    this.shuffle = expectFlag(options.shuffle, 'shuffle', true);
    // createModel's rule: seeds are non-negative integers.
    this.seed = options.seed === undefined ? 0 : expectInteger(options.seed, 'seed', 0);
    this.dropLast = expectFlag(options.dropLast, 'dropLast', false);
    this.prefetch =
      options.prefetch === undefined ? 2 : expectInteger(options.prefetch, 'prefetch', 0);
    for (const t of options.transforms ?? []) {
      if (t instanceof CenterCrop && !this.centre && !this.crop) this.centre = t;
      else if (t instanceof RandomCrop && !this.crop) this.crop = t;
      else if (t instanceof RandomHorizontalFlip && !this.flip) this.flip = t;
      else
        throw new Error(
          `${who}: transforms may be a CenterCrop, then a RandomCrop and a RandomHorizontalFlip, each once; other deterministic ones belong to the store (prepareImageStore or loadImages)`,
        );
    }
    this.window = { top: 0, left: 0, height, width };
    if (this.centre) {
      const [top, left] = this.centre.offset(height, width);
      this.window = { top, left, height: this.centre.height, width: this.centre.width };
    }
    if (this.crop) this.crop.ranges(this.window.height, this.window.width);
    this.height = this.crop ? this.crop.height : this.window.height;
    this.width = this.crop ? this.crop.width : this.window.width;
    let maxLabel = -1;
    for (let i = 0; i < this.n; i++) {
      const l = this.labels[i];
      if (l < 0) throw new Error(`${who}: label ${l} of image ${i} is negative`);
      if (l > maxLabel) maxLabel = l;
    }
    this.classes =
      options.classes === undefined
        ? maxLabel + 1
        : expectInteger(options.classes, 'classes', 1, 2 ** 31 - 1);
    if (maxLabel >= this.classes) {
      throw new Error(`${who}: label ${maxLabel} is not below classes (${this.classes})`);
    }
    this.worldSize = options.worldSize ?? 1;
    this.rank = options.rank ?? 0;
    if (!Number.isInteger(this.worldSize) || this.worldSize < 1 || this.worldSize > batchSize) {
      throw new Error(
        `${who}: expected an integer in 1..batchSize (${batchSize}) for worldSize but received ${String(options.worldSize)}`,
      );
    }
    if (!Number.isInteger(this.rank) || this.rank < 0 || this.rank >= this.worldSize) {
      throw new Error(
        `${who}: expected an integer in 0..${this.worldSize - 1} for rank but received ${String(options.rank)}`,
      );
    }
    this.batchesPerEpoch = batchesPerEpoch(this.n, batchSize, this.worldSize, this.dropLast);
    if (this.batchesPerEpoch === 0) {
      const why = this.dropLast
        ? 'full batch'
        : `batch with an image for each of ${this.worldSize} ranks`;
      throw new Error(`${who}: ${this.n} images make no ${why} (batchSize ${batchSize})`);
    }
  }

  get labelling(): Labelling {
    if (!this.labellingCache) {
      const { labels } = this;
      const hash = crypto.createHash('sha256');
      hash.update(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength));
      hash.update(JSON.stringify(this.store?.classNames ?? null));
      const digest = hash.digest('hex');
      this.labellingCache = { images: this.n, classes: this.classes, digest };
    }
    return this.labellingCache;
  }

  get settings(): BatchSettings {
    const { seed, shuffle, dropLast, centre, crop, flip } = this;
    return {
      seed,
      shuffle,
      dropLast,
      centerCrop: centre ? [centre.height, centre.width] : false,
      randomCrop: crop ? { height: crop.height, width: crop.width, padding: crop.padding } : false,
      flip: flip ? flip.p : 0,
    };
  }

  /** Image indices of epoch `epoch` in the order they are served. */
  order(epoch: number): Int32Array {
    if (epoch !== this.orderEpoch) {
      const order = new Int32Array(this.n);
      for (let i = 0; i < order.length; i++) order[i] = i;
      if (this.shuffle) new Random(this.seed, ORDER, epoch).shuffle(order);
      this.orderCache = order;
      this.orderEpoch = epoch;
    }
    return this.orderCache;
  }

  /** Batch `b` of epoch `epoch`, assembled now into arrays of its own. */
  async batchAt(epoch: number, b: number): Promise<Batch> {
    this.checkPosition(epoch, b);
    return this.assemble(epoch, b, this.newSlot());
  }

  private async assemble(epoch: number, b: number, buffers: Slot): Promise<Batch> {
    const { start, n } = rankBatchRange(b, this.batchSize, this.n, this.rank, this.worldSize);
    const rng = new Random(
      this.seed,
      AUGMENT,
      epoch,
      b,
      ...(this.worldSize > 1 ? [this.rank] : []),
    );
    const flip = buffers.flip.subarray(0, n);
    if (this.set && !this.shuffle && !this.crop && !this.centre) {
      const bytes = this.height * this.width * 3;
      this.flipMask(flip, rng);
      return {
        images: this.set.images.subarray(start * bytes, (start + n) * bytes),
        labels: this.set.labels!.subarray(start, start + n),
        flip,
        n,
      };
    }
    const order = this.order(epoch);
    const indices = buffers.indices.subarray(0, n);
    const labels = buffers.labels.subarray(0, n);
    for (let i = 0; i < n; i++) {
      indices[i] = order[start + i];
      labels[i] = this.labels[indices[i]];
    }
    let offsets: Int32Array | undefined;
    if (this.crop) {
      offsets = buffers.offsets.subarray(0, 2 * n);
      for (let i = 0; i < n; i++) {
        const [top, left] = this.crop.offset(this.window.height, this.window.width, rng);
        offsets[2 * i] = top;
        offsets[2 * i + 1] = left;
      }
    }
    this.flipMask(flip, rng); // drawn after the crops, as ever
    const images = buffers.images.subarray(0, n * this.height * this.width * 3);
    await this.reader().gather(indices, images, {
      window: this.window,
      height: this.height,
      width: this.width,
      offsets,
    });
    return { images, labels, flip, n };
  }

  /** The batches of one epoch from `startBatch` on, gathered up to `prefetch` ahead. */
  async *batches(epoch: number, startBatch = 0): AsyncGenerator<Batch> {
    this.checkPosition(epoch, startBatch, true);
    // Slots: the gathers in flight, the batch yielded and the one before it (still valid).
    const ahead = Math.max(1, this.prefetch);
    const ring = this.freeRings.pop() ?? [];
    while (ring.length < ahead + 2) ring.push(this.newSlot());
    const queue: Promise<Batch>[] = [];
    let next = startBatch;
    const fill = () => {
      while (queue.length < ahead && next < this.batchesPerEpoch) {
        const b = next++;
        const gathering = this.assemble(epoch, b, ring[b % ring.length]);
        gathering.catch(() => {}); // awaited in turn; a failure meanwhile is not unhandled
        queue.push(gathering);
      }
    };
    try {
      fill();
      while (queue.length > 0) {
        const batch = await queue.shift()!;
        fill();
        yield batch;
      }
    } finally {
      // A consumer that stops early must not leave gathers writing into the ring.
      await Promise.allSettled(queue);
      this.freeRings.push(ring);
    }
  }

  private reader(): ImageReader {
    if (this.store) return this.store.reader;
    this.ownReader ??= ImageReader.fromImages(this.set!);
    return this.ownReader;
  }

  private flipMask(flip: Uint8Array, rng: Random): void {
    if (this.flip) this.flip.decide(flip, rng);
    else flip.fill(0);
  }

  private checkPosition(epoch: number, b: number, allowEnd = false): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new Error(
        `DataLoader: expected non-negative integer for epoch but received ${String(epoch)}`,
      );
    }
    const limit = allowEnd ? this.batchesPerEpoch : this.batchesPerEpoch - 1;
    if (!Number.isInteger(b) || b < 0 || b > limit) {
      throw new Error(`DataLoader: expected batch in 0..${limit} but received ${String(b)}`);
    }
  }

  private newSlot(): Slot {
    // A rank's part of a batch holds at most ceil(batchSize / worldSize) images, and no batch
    // more than the set.
    const images = Math.ceil(Math.min(this.batchSize, this.n) / this.worldSize);
    return {
      images: new Uint8Array(images * this.height * this.width * 3),
      labels: new Int32Array(images),
      flip: new Uint8Array(images),
      indices: new Int32Array(images),
      offsets: new Int32Array(2 * images),
    };
  }
}

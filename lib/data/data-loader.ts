import { Random } from '../util/random';
import { batchesPerEpoch, rankBatchRange } from './rank-share';
import { RandomCrop } from './transforms/random-crop';
import { RandomHorizontalFlip } from './transforms/random-horizontal-flip';
import type { Batch, BatchSource, ImageSet } from './types';

export type RandomTransform = RandomCrop | RandomHorizontalFlip;

export interface DataLoaderOptions {
  batchSize: number;
  /** Reorder every epoch (seeded); default true. */
  shuffle?: boolean;
  seed?: number;
  /** Leave out the last, short batch of an epoch; default false (as torch's DataLoader). */
  dropLast?: boolean;
  /** Batches assembled ahead while the consumer works on one; default 2. */
  prefetch?: number;
  /** Per-batch augmentation, seeded by (seed, epoch, batch): RandomCrop, RandomHorizontalFlip. */
  transforms?: readonly RandomTransform[];
  /** Number of classes; default max label + 1. */
  classes?: number;
  /**
   * Distributed: this process trains on its rank's part of every batch (lib/data/rank-share.ts);
   * batchSize stays the whole step's. Default rank 0 of 1.
   */
  rank?: number;
  worldSize?: number;
}

// Stream tags so the shuffle and the augmentation never share random numbers.
const ORDER = 0;
const AUGMENT = 1;

/**
 * Batches over an in-memory ImageSet. Epoch e's order is a seeded permutation of (seed, e);
 * batch b's augmentation is drawn from (seed, e, b), so `batches(e, b)` after a restart yields
 * exactly what an uninterrupted run would have. Without shuffle and RandomCrop the images and
 * labels are views into the set; otherwise one gather into a reused buffer. A yielded batch's
 * arrays stay valid until the consumer asks for the batch after the next one; copy to keep.
 */
export class DataLoader implements BatchSource {
  readonly classes: number;
  readonly batchesPerEpoch: number;
  readonly height: number;
  readonly width: number;
  readonly batchSize: number;
  readonly rank: number;
  readonly worldSize: number;
  private readonly set: ImageSet & { labels: Int32Array };
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private readonly prefetch: number;
  private readonly crop?: RandomCrop;
  private readonly flip?: RandomHorizontalFlip;
  private readonly ring: { images: Uint8Array; labels: Int32Array; flip: Uint8Array }[] = [];
  private orderEpoch = -1;
  private orderCache = new Int32Array(0);

  constructor(set: ImageSet, options: DataLoaderOptions) {
    const who = 'DataLoader';
    if (!set || !(set.images instanceof Uint8Array))
      throw new Error(`${who}: expected an ImageSet for set`);
    if (set.images.length !== set.n * set.height * set.width * 3) {
      throw new Error(
        `${who}: the set claims ${set.n}x${set.height}x${set.width}x3 but holds ${set.images.length} bytes`,
      );
    }
    if (!set.labels)
      throw new Error(`${who}: the image set has no labels; training batches need them`);
    if (set.labels.length !== set.n)
      throw new Error(`${who}: expected ${set.n} labels but the set has ${set.labels.length}`);
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new Error(
        `${who}: expected positive integer for batchSize but received ${String(batchSize)}`,
      );
    }
    this.set = set as ImageSet & { labels: Int32Array };
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    if (!Number.isSafeInteger(this.seed))
      throw new Error(`${who}: expected an integer for seed but received ${String(options.seed)}`);
    this.dropLast = options.dropLast ?? false;
    this.prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0) {
      throw new Error(
        `${who}: expected non-negative integer for prefetch but received ${String(options.prefetch)}`,
      );
    }
    for (const t of options.transforms ?? []) {
      if (t instanceof RandomCrop) this.crop = t;
      else if (t instanceof RandomHorizontalFlip) this.flip = t;
      else
        throw new Error(
          `${who}: transforms may be RandomCrop or RandomHorizontalFlip; deterministic ones belong to loadImages`,
        );
    }
    if (this.crop) this.crop.ranges(set.height, set.width);
    this.height = this.crop ? this.crop.height : set.height;
    this.width = this.crop ? this.crop.width : set.width;
    let maxLabel = -1;
    for (let i = 0; i < set.n; i++) {
      const l = set.labels[i];
      if (l < 0) throw new Error(`${who}: label ${l} of image ${i} is negative`);
      if (l > maxLabel) maxLabel = l;
    }
    this.classes = options.classes ?? maxLabel + 1;
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
    this.batchesPerEpoch = batchesPerEpoch(set.n, batchSize, this.worldSize, this.dropLast);
    if (this.batchesPerEpoch === 0) {
      const why = this.dropLast
        ? 'full batch'
        : `batch with an image for each of ${this.worldSize} ranks`;
      throw new Error(`${who}: ${set.n} images make no ${why} (batchSize ${batchSize})`);
    }
  }

  /** Image indices of epoch `epoch` in the order they are served. */
  order(epoch: number): Int32Array {
    if (epoch !== this.orderEpoch) {
      const order = new Int32Array(this.set.n);
      for (let i = 0; i < order.length; i++) order[i] = i;
      if (this.shuffle) new Random(this.seed, ORDER, epoch).shuffle(order);
      this.orderCache = order;
      this.orderEpoch = epoch;
    }
    return this.orderCache;
  }

  /** Batch `b` of epoch `epoch`, assembled now into ring slot `slot`. */
  batchAt(epoch: number, b: number, slot = 0): Batch {
    this.checkPosition(epoch, b);
    const { start, n } = rankBatchRange(b, this.batchSize, this.set.n, this.rank, this.worldSize);
    const order = this.order(epoch);
    const rng = new Random(
      this.seed,
      AUGMENT,
      epoch,
      b,
      ...(this.worldSize > 1 ? [this.rank] : []),
    );
    const buffers = this.slot(slot);
    const flip = buffers.flip.subarray(0, n);
    const srcBytes = this.set.height * this.set.width * 3;
    const dstBytes = this.height * this.width * 3;
    let images: Uint8Array;
    let labels: Int32Array;
    if (!this.shuffle && !this.crop) {
      images = this.set.images.subarray(start * srcBytes, (start + n) * srcBytes);
      labels = this.set.labels.subarray(start, start + n);
    } else {
      images = buffers.images.subarray(0, n * dstBytes);
      labels = buffers.labels.subarray(0, n);
      const src = this.set.images;
      for (let i = 0; i < n; i++) {
        const j = order[start + i];
        labels[i] = this.set.labels[j];
        const from = src.subarray(j * srcBytes, (j + 1) * srcBytes);
        const to = images.subarray(i * dstBytes, (i + 1) * dstBytes);
        if (this.crop) this.crop.cropInto(from, this.set.height, this.set.width, to, rng);
        else to.set(from);
      }
    }
    if (this.flip) this.flip.decide(flip, rng);
    else flip.fill(0);
    return { images, labels, flip, n };
  }

  /** The batches of one epoch from `startBatch` on, assembled up to `prefetch` ahead. */
  async *batches(epoch: number, startBatch = 0): AsyncGenerator<Batch> {
    this.checkPosition(epoch, startBatch, true);
    const ringSize = this.prefetch + 2;
    const queue: Promise<Batch>[] = [];
    let next = startBatch;
    const fill = () => {
      while (queue.length < Math.max(1, this.prefetch) && next < this.batchesPerEpoch) {
        const b = next++;
        // setImmediate lets the consumer's async work (a native training step) run meanwhile.
        queue.push(
          new Promise<Batch>((resolve, reject) =>
            setImmediate(() => {
              try {
                resolve(this.batchAt(epoch, b, b % ringSize));
              } catch (err) {
                reject(err as Error);
              }
            }),
          ),
        );
      }
    };
    fill();
    while (queue.length > 0) {
      const batch = await queue.shift()!;
      fill();
      yield batch;
    }
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

  private slot(i: number) {
    while (this.ring.length <= i) {
      this.ring.push({
        images: new Uint8Array(this.batchSize * this.height * this.width * 3),
        labels: new Int32Array(this.batchSize),
        flip: new Uint8Array(this.batchSize),
      });
    }
    return this.ring[i];
  }
}

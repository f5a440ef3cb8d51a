import * as zlib from 'node:zlib';
import { shardFile } from './manifest';
import type { ShardWriter } from './shard-writer';

/**
 * Packs images, handed over in source order, into fixed-size shards: copies each into the
 * current shard's buffer (its CRC-32 kept running) and hands a full shard to the writer. At most
 * a few shard buffers exist: a full one is reused once the writer is done with it.
 */
export class ShardAssembler {
  private readonly free: Uint8Array[] = [];
  private buffer: Uint8Array | undefined;
  private filled = 0;
  private crc = 0;
  private shard: number;
  private sourceStart: number;
  /** Images packed so far (the store's index of the next image). */
  stored: number;

  constructor(
    private readonly writer: ShardWriter,
    private readonly imagesPerShard: number,
    private readonly imageBytes: number,
    start: { shard: number; sourceIndex: number; stored: number },
  ) {
    this.shard = start.shard;
    this.sourceStart = start.sourceIndex;
    this.stored = start.stored;
  }

  /** Adds the decoded image of source image `sourceIndex`. */
  add(sourceIndex: number, pixels: Uint8Array): void {
    if (!this.buffer)
      this.buffer = this.free.pop() ?? new Uint8Array(this.imagesPerShard * this.imageBytes);
    this.buffer.set(pixels, this.filled * this.imageBytes);
    this.crc = zlib.crc32(pixels, this.crc);
    this.filled++;
    this.stored++;
    if (this.filled === this.imagesPerShard) this.close(sourceIndex + 1);
  }

  /** The source ends at `sourceEnd`: a partly filled shard is written as the last one. */
  end(sourceEnd: number): void {
    if (this.filled > 0) this.close(sourceEnd);
  }

  /** The next shard's number. */
  get nextShard(): number {
    return this.shard;
  }

  private close(sourceEnd: number): void {
    const buffer = this.buffer!;
    const record = {
      file: shardFile(this.shard),
      images: this.filled,
      crc32: this.crc,
      sourceStart: this.sourceStart,
      sourceEnd,
    };
    this.writer.write(this.shard, buffer.subarray(0, this.filled * this.imageBytes), record, () =>
      this.free.push(buffer),
    );
    this.buffer = undefined;
    this.filled = 0;
    this.crc = 0;
    this.shard++;
    this.sourceStart = sourceEnd;
  }
}

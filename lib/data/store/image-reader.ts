import { native } from '../../native';
import type { ImageSet } from '../types';
import type { NativeImageReader } from '../../native/store-binding';

/** A window of the stored images in their pixels; it may overhang them (outside is black). */
export interface CropWindow {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface GatherOptions {
  /** What part of each stored image the output shows (default: all of it). */
  window?: CropWindow;
  /** Output size (default: the window's). */
  height?: number;
  width?: number;
  /** Per image, the output's (dy, dx) shift inside the window: 2 numbers an image. */
  offsets?: Int32Array;
}

function checkInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new Error(`ImageReader: expected an integer for ${what} but received ${String(value)}`);
  }
}

/**
 * The one path that assembles batches from stored images, for an on-disk store's shards and an
 * in-memory ImageSet alike: one native call per batch, off the event loop, copying each image
 * through a crop window (and a per-image offset: a random crop) into a buffer the caller owns
 * and reuses. The caller must not touch `out` until the gather settles.
 */
export class ImageReader {
  private handle: NativeImageReader | undefined;

  private constructor(
    handle: NativeImageReader,
    readonly n: number,
    readonly height: number,
    readonly width: number,
  ) {
    this.handle = handle;
  }

  /** A reader over an ImageSet's bytes (referenced, not copied, until close()). */
  static fromImages(set: ImageSet): ImageReader {
    const { images, n, height, width } = set;
    if (!(images instanceof Uint8Array) || images.length !== n * height * width * 3) {
      throw new Error(`ImageReader: the set does not hold ${n}x${height}x${width}x3 bytes`);
    }
    const handle = new (native().ImageReader)({ images, n, height, width });
    return new ImageReader(handle, n, height, width);
  }

  /** A reader over shard files: image i is in files[floor(i / imagesPerShard)]. */
  static fromShards(
    files: string[],
    imagesPerShard: number,
    n: number,
    height: number,
    width: number,
  ): ImageReader {
    const handle = new (native().ImageReader)({ files, imagesPerShard, n, height, width });
    return new ImageReader(handle, n, height, width);
  }

  /** Gathers images `indices` into `out` (indices.length x height x width x 3 bytes). */
  gather(indices: Int32Array, out: Uint8Array, options: GatherOptions = {}): Promise<void> {
    if (!this.handle) throw new Error('ImageReader: the reader is closed');
    if (!(indices instanceof Int32Array))
      throw new Error('ImageReader: expected an Int32Array for indices');
    for (let i = 0; i < indices.length; i++) {
      if (indices[i] < 0 || indices[i] >= this.n) {
        throw new Error(
          `ImageReader: index ${indices[i]} (at ${i}) is out of range for ${this.n} images`,
        );
      }
    }
    const window = options.window ?? { top: 0, left: 0, height: this.height, width: this.width };
    const height = options.height ?? window.height;
    const width = options.width ?? window.width;
    for (const [what, v] of [
      ['window.top', window.top],
      ['window.left', window.left],
      ['window.height', window.height],
      ['window.width', window.width],
      ['height', height],
      ['width', width],
    ] as const) {
      checkInteger(v, what);
    }
    if (height < 1 || width < 1 || window.height < 1 || window.width < 1) {
      throw new Error(`ImageReader: expected a positive window and output size`);
    }
    const offsets = options.offsets ?? null;
    if (offsets && (!(offsets instanceof Int32Array) || offsets.length !== 2 * indices.length)) {
      throw new Error(
        `ImageReader: expected an Int32Array of ${2 * indices.length} offsets (dy, dx per image)`,
      );
    }
    const needed = indices.length * height * width * 3;
    if (!(out instanceof Uint8Array) || out.length < needed) {
      throw new Error(
        `ImageReader: out must be a Uint8Array of at least ${needed} bytes but holds ${out?.length}`,
      );
    }
    return this.handle.gather(
      indices,
      offsets,
      {
        top: window.top,
        left: window.left,
        windowHeight: window.height,
        windowWidth: window.width,
        height,
        width,
      },
      out,
    );
  }

  /** Gathers in flight (close() refuses while there are any). */
  inFlight(): number {
    return this.handle?.inFlight() ?? 0;
  }

  /** Closes the shard files or releases the set; later gathers throw. */
  close(): void {
    this.handle?.close();
    this.handle = undefined;
  }
}

/** Readers created and not yet closed (finalised ones included once collected). */
export function liveImageReaderCount(): number {
  return native().liveImageReaderCount();
}

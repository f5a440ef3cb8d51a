import type { DecodeJob, DecodeOutcome, DecodePool } from '../decode-pool';
import type { DeterministicTransform } from '../transforms/transform';
import type { FivePoints } from '../transforms/raw-image';
import type { ImageSource, SourceImage } from './image-source';

export interface DecodeInOrderOptions {
  pool: DecodePool;
  transforms: readonly DeterministicTransform[];
  /** Landmarks for an image that brings none of its own. */
  landmarksFor?: (image: SourceImage) => FivePoints | undefined;
  /** Source images per pool run (read while the previous window decodes). */
  windowSize: () => number;
  /** Awaited between windows (where the caller applies back-pressure). */
  afterWindow?: () => Promise<void>;
  /** Refuse images over this many pixels (the pool's limit when undefined). */
  maxPixels?: number;
}

/**
 * Decodes source images start..end-1 on the pool, a window at a time, and hands each outcome to
 * `onImage` in source order as soon as every earlier one is known, so the caller assembles while
 * the workers decode ahead. An error thrown by `onImage` stops the delivery and is rethrown once
 * the window's workers are done.
 */
export async function decodeInOrder(
  source: ImageSource,
  start: number,
  end: number,
  options: DecodeInOrderOptions,
  onImage: (index: number, image: SourceImage, outcome: DecodeOutcome) => void,
): Promise<void> {
  const read = (from: number): Promise<SourceImage[]> => {
    const promise = source.read(from, Math.min(end, from + Math.max(1, options.windowSize())));
    promise.catch(() => {}); // awaited below; a rejection meanwhile is not unhandled
    return promise;
  };
  let next = start < end ? read(start) : undefined;
  for (let from = start; next;) {
    const images = await next;
    const to = from + images.length;
    if (images.length === 0 || to > end) {
      throw new Error(
        `${source.kind} source ${source.location}: read(${from}, ...) returned ${images.length} images`,
      );
    }
    next = to < end ? read(to) : undefined;
    const jobs: DecodeJob[] = images.map((image) => ({
      path: image.name,
      landmarks: image.landmarks ?? options.landmarksFor?.(image),
      bytes: image.bytes,
    }));
    const outcomes: (DecodeOutcome | undefined)[] = new Array(images.length);
    let cursor = 0;
    let failure: Error | undefined;
    await options.pool.run(
      jobs,
      options.transforms,
      (i, outcome) => {
        outcomes[i] = outcome;
        while (!failure && cursor < images.length && outcomes[cursor]) {
          try {
            onImage(from + cursor, images[cursor], outcomes[cursor]!);
          } catch (err) {
            failure = err as Error;
          }
          outcomes[cursor++] = undefined;
        }
      },
      { maxPixels: options.maxPixels },
    );
    if (failure) throw failure;
    from = to;
    await options.afterWindow?.();
  }
}

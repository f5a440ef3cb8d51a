import * as os from 'node:os';
import * as path from 'node:path';
import { expectInteger } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { WorkerPool } from '../util/worker-pool';
import type { DecodeReply, DecodeRequest } from './decode-messages';
import { checkMaxPixels, loadSharp } from './image-decoder';
import type { DeterministicTransform } from './transforms/transform';
import type { FivePoints, RawImage } from './transforms/raw-image';

export interface DecodeJob {
  /** The file to read; with `bytes`, only the image's name in errors. */
  path: string;
  landmarks?: FivePoints | readonly number[];
  /**
   * The encoded image already in memory (a RecordIO record, an image inside a pickled .bin),
   * decoded instead of reading `path`. Sent to a worker by copying its whole buffer: give each
   * image a buffer of its own.
   */
  bytes?: Uint8Array;
}

export type DecodeOutcome = { ok: true; image: RawImage } | { ok: false; error: string };

export interface DecodePoolOptions {
  /** Worker threads; defaults to the cores available. */
  threads?: number;
  /** Files per message (1 to 4096, default 8): amortises messaging without starving workers near the end. */
  chunkSize?: number;
  /** Refuse images over this many pixels, from their headers (default 50 million). */
  maxPixels?: number;
}

export interface DecodeRunOptions {
  /** This run's pixel limit, in place of the pool's. */
  maxPixels?: number;
}

const POOL_OPTION_KEYS: OptionKeys<DecodePoolOptions> = {
  threads: true,
  chunkSize: true,
  maxPixels: true,
};

const sharedPools = new Map<number, DecodePool>();

/**
 * Decodes image files on worker threads (one per core by default) and runs the deterministic
 * transforms there, so only the small transformed images cross back to the main thread.
 */
export class DecodePool {
  readonly threads: number;
  readonly maxPixels: number;
  private readonly chunkSize: number;
  private readonly pool: WorkerPool<DecodeRequest, DecodeReply>;

  constructor(options: DecodePoolOptions = {}) {
    expectOptions(options, 'options', POOL_OPTION_KEYS, 'DecodePool options');
    this.pool = new WorkerPool(path.join(__dirname, 'decode-worker.js'), {
      threads: options.threads,
      name: 'DecodePool',
      // sharp's advice for worker threads: load it on the main thread too, so libvips stays
      // loaded when the last worker using it exits (glibc would unload it under a later worker).
      prepare: loadSharp,
    });
    this.threads = this.pool.threads;
    this.maxPixels = checkMaxPixels(options.maxPixels, 'DecodePool');
    this.chunkSize =
      options.chunkSize === undefined ? 8 : expectInteger(options.chunkSize, 'chunkSize', 1, 4096);
  }

  /**
   * A pool per thread count shared by every caller that brings none, so repeated loads reuse
   * warm workers. Its idle workers never keep the process alive.
   */
  static shared(threads: number = os.availableParallelism()): DecodePool {
    let pool = sharedPools.get(threads);
    if (!pool) {
      pool = new DecodePool({ threads });
      sharedPools.set(threads, pool);
    }
    return pool;
  }

  /**
   * Decodes every job; `onResult(i, outcome)` is called once per job, in completion order.
   * Resolves when all are done. Bad images (unreadable, corrupt, over the pixel limit) are
   * outcomes, not rejections; a crashed worker rejects. Runs called while others are in
   * progress share the workers with them, chunk by chunk in rotation; close() rejects them.
   */
  async run(
    jobs: readonly DecodeJob[],
    transforms: readonly DeterministicTransform[],
    onResult: (index: number, outcome: DecodeOutcome) => void,
    options: DecodeRunOptions = {},
  ): Promise<void> {
    expectOptions<DecodeRunOptions>(options, 'options', { maxPixels: true });
    const maxPixels =
      options.maxPixels === undefined
        ? this.maxPixels
        : checkMaxPixels(options.maxPixels, 'DecodePool.run');
    const specs = transforms.map((t) => t.spec());
    const requests: DecodeRequest[] = [];
    for (let start = 0; start < jobs.length; start += this.chunkSize) {
      const chunk = jobs.slice(start, start + this.chunkSize);
      requests.push({
        specs,
        maxPixels,
        jobs: chunk.map((job, k) => ({
          index: start + k,
          path: job.path,
          landmarks: job.landmarks ? Array.from(job.landmarks) : undefined,
          bytes: job.bytes,
        })),
      });
    }
    return this.pool.run(requests, (_, reply) => {
      for (const r of reply.results) {
        onResult(
          r.index,
          r.ok
            ? { ok: true, image: { data: r.data, width: r.width, height: r.height } }
            : { ok: false, error: r.error },
        );
      }
    });
  }

  /** Stops the workers, rejecting the runs in progress or waiting; a later run() starts new ones. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

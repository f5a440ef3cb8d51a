import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DecodeReply, DecodeRequest } from './decode-messages';
import type { DeterministicTransform } from './transforms/transform';
import type { FivePoints, RawImage } from './transforms/raw-image';

export interface DecodeJob {
  path: string; // the file to read; with `bytes`, only the image's name in errors
  landmarks?: FivePoints;
  bytes?: Uint8Array; // encoded image (JPEG/PNG/...) already in memory, e.g. a RecordIO
  // record or an image inside a pickled .bin; decoded instead of reading `path`
}

export type DecodeOutcome = { ok: true; image: RawImage } | { ok: false; error: string };

export interface DecodePoolOptions {
  /** Worker threads; defaults to the cores available. */
  threads?: number;
  /** Files per message: amortises messaging without starving workers near the end. */
  chunkSize?: number;
}

const sharedPools = new Map<number, DecodePool>();

/**
 * Decodes image files on worker_threads (one per core by default) and runs the deterministic
 * transforms there, so only the small transformed images cross back to the main thread.
 */
export class DecodePool {
  readonly threads: number;
  private readonly chunkSize: number;
  private workers: Worker[] = [];
  private busy = false;

  constructor(options: DecodePoolOptions = {}) {
    const threads = options.threads ?? os.availableParallelism();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(
        `DecodePool: expected positive integer for threads but received ${String(threads)}`,
      );
    }
    this.threads = threads;
    this.chunkSize = options.chunkSize ?? 8;
  }

  /**
   * Decodes every job; `onResult(i, outcome)` is called once per job, in completion order.
   * Resolves when all are done. Bad images are outcomes, not rejections; a crashed worker rejects.
   */
  async run(
    jobs: readonly DecodeJob[],
    transforms: readonly DeterministicTransform[],
    onResult: (index: number, outcome: DecodeOutcome) => void,
  ): Promise<void> {
    if (this.busy) throw new Error('DecodePool: run() is already in progress on this pool');
    this.busy = true;
    try {
      await this.runChunks(jobs, transforms, onResult);
    } finally {
      this.busy = false;
      // Idle workers stay (warm, their JIT done) but do not keep the process alive.
      for (const w of this.workers) w.unref();
    }
  }

  /**
   * A pool per thread count shared by every loadImages call that brings none, so repeated
   * loads reuse warm workers. Its idle workers never keep the process alive.
   */
  static shared(threads: number = os.availableParallelism()): DecodePool {
    let pool = sharedPools.get(threads);
    if (!pool) {
      pool = new DecodePool({ threads });
      sharedPools.set(threads, pool);
    }
    return pool;
  }

  private ensureWorkers(): Worker[] {
    while (this.workers.length < this.threads) {
      this.workers.push(new Worker(path.join(__dirname, 'decode-worker.js')));
    }
    for (const w of this.workers) w.ref();
    return this.workers;
  }

  private runChunks(
    jobs: readonly DecodeJob[],
    transforms: readonly DeterministicTransform[],
    onResult: (index: number, outcome: DecodeOutcome) => void,
  ): Promise<void> {
    const specs = transforms.map((t) => t.spec());
    const chunks = Math.ceil(jobs.length / this.chunkSize);
    if (chunks === 0) return Promise.resolve();
    const workers = this.ensureWorkers();
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      let failed = false;
      const cleanups: (() => void)[] = [];
      const done = (err?: Error) => {
        if (failed) return;
        if (err) failed = true;
        for (const c of cleanups) c();
        if (err) reject(err);
        else resolve();
      };
      const send = (worker: Worker) => {
        if (next >= chunks) return;
        const chunk = next++;
        const request: DecodeRequest = { chunk, specs, jobs: [] };
        for (
          let i = chunk * this.chunkSize;
          i < Math.min(jobs.length, (chunk + 1) * this.chunkSize);
          i++
        ) {
          const job = jobs[i];
          request.jobs.push({
            index: i,
            path: job.path,
            landmarks: job.landmarks ? Array.from(job.landmarks) : undefined,
            bytes: job.bytes,
          });
        }
        worker.postMessage(request);
      };
      for (const worker of workers) {
        const onMessage = (reply: DecodeReply) => {
          if (failed) return;
          if (reply.fatal) return done(new Error(`DecodePool: a worker failed: ${reply.fatal}`));
          for (const r of reply.results) {
            onResult(
              r.index,
              r.ok
                ? { ok: true, image: { data: r.data, width: r.width, height: r.height } }
                : { ok: false, error: r.error },
            );
          }
          finished++;
          if (finished === chunks) return done();
          send(worker);
        };
        const onError = (err: Error) =>
          done(new Error(`DecodePool: a worker crashed: ${err.message}`));
        const onExit = (code: number) =>
          done(new Error(`DecodePool: a worker exited with code ${code}`));
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        cleanups.push(() => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        });
        // Two chunks in flight per worker so none waits on the main thread between chunks.
        send(worker);
        send(worker);
      }
    }).catch(async (err: Error) => {
      await this.close();
      throw err;
    });
  }

  /** Stops the workers; a later run() starts new ones. */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

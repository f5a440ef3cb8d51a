// The one pool of worker_threads: CPU-bound JavaScript (decoding images, rendering synthetic
// faces) runs there, never on the main thread. Tasks are messages; each worker keeps up to
// `inFlight` tasks queued so it never waits on the main thread between two of them. Results come
// back in completion order, moved rather than copied where the worker lists transferables.
// Runs on one pool take turns, in the order they were called: concurrent callers (two requests
// to a server sharing the default pool) each get the workers in full, and the tasks in flight
// stay those of one run.
import * as os from 'node:os';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';
import { expectInteger, MAX_THREADS } from './expect';

type TaskReply<R> = { id: number; ok: true; result: R } | { id: number; ok: false; error: string };

export interface WorkerPoolOptions<Task = unknown> {
  /** Worker threads (default: the cores available). */
  threads?: number;
  /** Names the pool in errors, e.g. 'DecodePool'. */
  name: string;
  /** Awaited on the main thread at each run's turn, before any worker starts. */
  prepare?: () => Promise<unknown>;
  /** What of a task moves to the worker rather than being copied (large buffers; once each). */
  transferOf?: (task: Task) => readonly TransferListItem[];
}

export class WorkerPool<Task, Result> {
  readonly threads: number;
  readonly name: string;
  private readonly prepare?: () => Promise<unknown>;
  private readonly transferOf?: (task: Task) => readonly TransferListItem[];
  private workers: Worker[] = [];
  /** Settles when the last run called so far is over: the next run's turn. */
  private tail: Promise<void> = Promise.resolve();
  /** Counts close() calls: a run waiting since before one is refused. */
  private closes = 0;

  /** `script`: a compiled worker file that calls `serveTasks`. */
  constructor(
    private readonly script: string,
    options: WorkerPoolOptions<Task>,
  ) {
    this.threads =
      options.threads === undefined
        ? os.availableParallelism()
        : expectInteger(options.threads, 'threads', 1, MAX_THREADS);
    this.name = options.name;
    this.prepare = options.prepare;
    this.transferOf = options.transferOf;
  }

  /**
   * Runs every task; `onResult(index, result)` is called once per task in completion order.
   * A run called while another is in progress waits for its turn (first called, first run).
   * A task whose handler threw (with its message), or a crashed worker, rejects the run (the workers are then
   * stopped; the next run starts new ones). Idle workers never keep the process alive.
   */
  async run(
    tasks: readonly Task[],
    onResult: (index: number, result: Result) => void,
    inFlight = 2,
  ): Promise<void> {
    const closes = this.closes;
    const turn = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await turn;
      if (this.closes !== closes) {
        throw new Error(`${this.name}: the pool was closed before this run started`);
      }
      if (tasks.length === 0) return;
      await this.prepare?.();
      try {
        await this.dispatch(tasks, onResult, inFlight);
      } catch (error) {
        await this.stopWorkers();
        throw error;
      } finally {
        for (const w of this.workers) w.unref();
      }
    } finally {
      done();
    }
  }

  /**
   * Stops the workers: the run in progress rejects, and so do those waiting for their turn; a
   * run called after this starts new workers.
   */
  async close(): Promise<void> {
    this.closes++;
    await this.stopWorkers();
  }

  private async stopWorkers(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private dispatch(
    tasks: readonly Task[],
    onResult: (index: number, result: Result) => void,
    inFlight: number,
  ): Promise<void> {
    const closes = this.closes;
    while (this.workers.length < Math.min(this.threads, tasks.length)) {
      this.workers.push(new Worker(this.script));
    }
    return new Promise<void>((resolve, reject) => {
      let next = 0;
      let finished = 0;
      let settled = false;
      const cleanups: (() => void)[] = [];
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        if (error) reject(error);
        else resolve();
      };
      const send = (worker: Worker) => {
        if (next < tasks.length) {
          const id = next++;
          worker.postMessage({ id, task: tasks[id] }, [...new Set(this.transferOf?.(tasks[id]))]);
        }
      };
      for (const worker of this.workers) {
        worker.ref();
        const onMessage = (reply: TaskReply<Result>) => {
          if (settled) return;
          // A handler's own error is the task's: its message, as the caller would have got it.
          if (!reply.ok) return settle(new Error(reply.error));
          try {
            onResult(reply.id, reply.result);
          } catch (error) {
            return settle(error as Error);
          }
          if (++finished === tasks.length) return settle();
          send(worker);
        };
        const onError = (error: Error) =>
          settle(new Error(`${this.name}: a worker crashed: ${error.message}`));
        const onExit = (code: number) =>
          settle(
            new Error(
              this.closes !== closes
                ? `${this.name}: the pool was closed while this run was in progress`
                : `${this.name}: a worker exited with code ${code}`,
            ),
          );
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        cleanups.push(() => {
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        });
        for (let k = 0; k < inFlight; k++) send(worker);
      }
    });
  }
}

/**
 * Runs `tasks` on one worker thread started for them and stopped after: work that must not hold
 * the event loop, done once. Resolves with the results in task order.
 */
export async function runOnOwnWorker<Task, Result>(
  script: string,
  tasks: readonly Task[],
  options: Omit<WorkerPoolOptions<Task>, 'threads'>,
): Promise<Result[]> {
  const results: Result[] = new Array(tasks.length);
  const pool = new WorkerPool<Task, Result>(script, { ...options, threads: 1 });
  try {
    await pool.run(tasks, (k, result) => (results[k] = result));
  } finally {
    await pool.close();
  }
  return results;
}

/**
 * What a task handler returns: the result, and the buffers to move rather than copy (a buffer
 * listed twice, under two views, moves once).
 */
export interface TaskOutcome<Result> {
  result: Result;
  transfer?: readonly TransferListItem[];
}

/**
 * The worker side: runs `handle` on each task a WorkerPool sends, one at a time, and answers.
 * A handler that throws fails its task (and the pool's run) with the error's message.
 */
export function serveTasks<Task, Result>(
  handle: (task: Task) => Promise<TaskOutcome<Result>> | TaskOutcome<Result>,
): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks: not running in a worker thread');
  let queue = Promise.resolve();
  port.on('message', ({ id, task }: { id: number; task: Task }) => {
    queue = queue.then(async () => {
      try {
        const { result, transfer } = await handle(task);
        port.postMessage({ id, ok: true, result } satisfies TaskReply<Result>, [
          ...new Set(transfer),
        ]);
      } catch (error) {
        port.postMessage({ id, ok: false, error: (error as Error).message });
      }
    });
  });
}

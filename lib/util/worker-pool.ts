// The one pool of worker_threads: CPU-bound JavaScript (decoding images, rendering synthetic
// faces) runs there, never on the main thread. Tasks are messages; each worker keeps up to
// `tasksPerWorker` tasks queued so it never waits on the main thread between two of them. Results
// come back in completion order, moved rather than copied where the worker lists transferables.
// Runs in progress at once share the workers task by task, in rotation: a short run (one photo
// to embed) waits for the tasks already queued, not for a long run (a whole set) to end, and the
// tasks in flight stay bounded by the workers, however many runs there are.
import * as os from 'node:os';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';
import { expectInteger, MAX_THREADS } from './expect';

type TaskReply<R> = { id: number; ok: true; result: R } | { id: number; ok: false; error: string };

export interface WorkerPoolOptions<Task = unknown> {
  /** Worker threads (default: the cores available). */
  threads?: number;
  /** Names the pool in errors, e.g. 'DecodePool'. */
  name: string;
  /** Tasks queued on a worker at once (default 2: the next is there when one ends). */
  tasksPerWorker?: number;
  /** Awaited on the main thread at the start of each run, before its tasks are sent. */
  prepare?: () => Promise<unknown>;
  /** What of a task moves to the worker rather than being copied (large buffers; once each). */
  transferOf?: (task: Task) => readonly TransferListItem[];
}

/** One call of run(): its tasks, how far they have gone, and how it ends. */
interface Run<Task, Result> {
  tasks: readonly Task[];
  onResult: (index: number, result: Result) => void;
  sent: number;
  finished: number;
  settled: boolean;
  settle: (error?: Error) => void;
}

/** A worker and the tasks it has been sent and not answered, by message id. */
interface Slot<Task, Result> {
  worker: Worker;
  queued: Map<number, { run: Run<Task, Result>; index: number }>;
}

export class WorkerPool<Task, Result> {
  readonly threads: number;
  readonly name: string;
  private readonly tasksPerWorker: number;
  private readonly prepare?: () => Promise<unknown>;
  private readonly transferOf?: (task: Task) => readonly TransferListItem[];
  private slots: Slot<Task, Result>[] = [];
  /** The runs in progress, in call order; `rotation` is the one whose task goes next. */
  private runs: Run<Task, Result>[] = [];
  private rotation = 0;
  private nextId = 0;
  /** Counts close() calls: a run still preparing when one comes is refused. */
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
    this.tasksPerWorker = options.tasksPerWorker ?? 2;
    this.prepare = options.prepare;
    this.transferOf = options.transferOf;
  }

  /**
   * Runs every task; `onResult(index, result)` is called once per task in completion order.
   * Runs called while others are in progress share the workers with them. A task whose handler
   * threw (with its message), an `onResult` that threw, or a crashed worker holding one of its
   * tasks rejects the run; the other runs go on. Idle workers never keep the process alive.
   */
  async run(
    tasks: readonly Task[],
    onResult: (index: number, result: Result) => void,
  ): Promise<void> {
    const closes = this.closes;
    if (tasks.length === 0) return;
    await this.prepare?.();
    if (this.closes !== closes) {
      throw new Error(`${this.name}: the pool was closed before this run started`);
    }
    return new Promise<void>((resolve, reject) => {
      const run: Run<Task, Result> = {
        tasks,
        onResult,
        sent: 0,
        finished: 0,
        settled: false,
        settle: (error) => {
          if (run.settled) return;
          run.settled = true;
          const k = this.runs.indexOf(run);
          this.runs.splice(k, 1);
          if (k < this.rotation) this.rotation--;
          if (error) reject(error);
          else resolve();
        },
      };
      this.runs.push(run);
      this.dispatch();
    });
  }

  /**
   * Stops the workers: the runs in progress reject, and so do those still preparing; a run
   * called after this starts new workers.
   */
  async close(): Promise<void> {
    this.closes++;
    const closed = new Error(`${this.name}: the pool was closed while this run was in progress`);
    for (const run of [...this.runs]) run.settle(closed);
    const slots = this.slots;
    this.slots = [];
    // Held while they stop: an idle worker is unref'd, and the process would otherwise exit
    // before the terminations, leaving close() and whatever awaits it unsettled.
    await Promise.all(
      slots.map((slot) => {
        slot.worker.ref();
        return slot.worker.terminate();
      }),
    );
  }

  /** Sends tasks, the runs taking turns, while a worker has room. */
  private dispatch(): void {
    for (;;) {
      const next = this.nextRunIndex();
      if (next < 0) return;
      const slot = this.slotWithRoom();
      if (!slot) return;
      const run = this.runs[next];
      this.rotation = (next + 1) % this.runs.length;
      const index = run.sent++;
      const id = this.nextId++;
      if (slot.queued.size === 0) slot.worker.ref();
      slot.queued.set(id, { run, index });
      const task = run.tasks[index];
      try {
        slot.worker.postMessage({ id, task }, [...new Set(this.transferOf?.(task))]);
      } catch (error) {
        // A task that cannot be sent (DataCloneError) fails its own run alone.
        slot.queued.delete(id);
        if (slot.queued.size === 0) slot.worker.unref();
        run.settle(error as Error);
      }
    }
  }

  /** Where in `runs` the next run in rotation with tasks left to send is; -1 if none. */
  private nextRunIndex(): number {
    for (let k = 0; k < this.runs.length; k++) {
      const at = (this.rotation + k) % this.runs.length;
      if (this.runs[at].sent < this.runs[at].tasks.length) return at;
    }
    return -1;
  }

  /** An idle worker, else a new one while under `threads`, else the least busy with room. */
  private slotWithRoom(): Slot<Task, Result> | undefined {
    const idle = this.slots.find((slot) => slot.queued.size === 0);
    if (idle) return idle;
    if (this.slots.length < this.threads) return this.startWorker();
    let best: Slot<Task, Result> | undefined;
    for (const slot of this.slots) {
      if (
        slot.queued.size < this.tasksPerWorker &&
        (!best || slot.queued.size < best.queued.size)
      ) {
        best = slot;
      }
    }
    return best;
  }

  private startWorker(): Slot<Task, Result> {
    const slot: Slot<Task, Result> = { worker: new Worker(this.script), queued: new Map() };
    this.slots.push(slot);
    slot.worker.on('message', (reply: TaskReply<Result>) => this.answer(slot, reply));
    slot.worker.on('error', (error) => this.lose(slot, `a worker crashed: ${error.message}`));
    slot.worker.on('exit', (code) => this.lose(slot, `a worker exited with code ${code}`));
    return slot;
  }

  private answer(slot: Slot<Task, Result>, reply: TaskReply<Result>): void {
    // A reply from a worker close() is stopping: its runs are settled, and it stays held.
    if (!this.slots.includes(slot)) return;
    const entry = slot.queued.get(reply.id);
    if (!entry) return;
    slot.queued.delete(reply.id);
    if (slot.queued.size === 0) slot.worker.unref();
    const { run, index } = entry;
    if (!run.settled) {
      try {
        // A handler's own error is the task's: its message, as the caller would have got it.
        if (!reply.ok) throw new Error(reply.error);
        run.onResult(index, reply.result);
        if (++run.finished === run.tasks.length) run.settle();
      } catch (error) {
        run.settle(error as Error);
      }
    }
    this.dispatch();
  }

  /** A worker that crashed or exited: the runs it held tasks of reject; the others go on. */
  private lose(slot: Slot<Task, Result>, what: string): void {
    const k = this.slots.indexOf(slot);
    if (k < 0) return; // closed, or its crash already seen
    this.slots.splice(k, 1);
    const error = new Error(`${this.name}: ${what}`);
    for (const { run } of slot.queued.values()) run.settle(error);
    void slot.worker.terminate();
    this.dispatch();
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

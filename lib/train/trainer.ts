// Trainer: runs a FaceModel over a BatchSource with the LR and lambda schedules, reports
// events, logs metrics.jsonl, evaluates, checkpoints, and resumes exactly from a checkpoint.
// It prints nothing: progress is its 'batch', 'epoch', 'eval' and 'checkpoint' events.
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { Batch } from '../data/types';
import type { ProcessGroup } from '../dist/process-group';
import type { FaceModel } from '../models/types';
import {
  readCheckpoint,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointState,
  type EpochTotals,
} from './checkpoint';
import { expectSameOnEveryRank, joinDistributedRun } from './distributed-run';
import { stepLambda } from './lambda-schedule';
import { MetricsLog } from './metrics-log';
import { describeReceived } from '../util/describe-received';
import { holdsLock, lockFolder } from '../util/folder-lock';
import { learningRate, resolveSchedule } from './schedule';
import { makeFolder } from '../util/make-folder';
import {
  AwaitedEmitter,
  type BatchRecord,
  type EpochRecord,
  type EvalRecord,
  type EvaluationLike,
  type TrainerEvents,
} from './trainer-events';
import {
  dueAfterEpoch,
  dueAfterStep,
  resolveTrainerOptions,
  type TrainerOptions,
  type TrainerSettings,
} from './trainer-options';

export type { Every, ModelEvaluator, OptimizerOptions, TrainerOptions } from './trainer-options';

export interface History<E extends EvaluationLike = EvaluationLike> {
  epochs: EpochRecord[];
  evals: EvalRecord<E>[];
  iterations: number; // total steps done, including those before a resume
  stopped: boolean; // stop() was called
  lastCheckpoint?: Checkpoint;
}

/**
 * Training diverged: the step was not applied, so the model keeps its weights from before it;
 * `lastCheckpoint` is where a run can resume from.
 */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    message: string,
    readonly iteration: number,
    readonly lastCheckpoint?: Checkpoint,
  ) {
    super(message);
  }
}

function emptyTotals(): EpochTotals {
  return { lossSum: 0, accuracySum: 0, batches: 0, images: 0 };
}

/** The lock file of a training run's folder (outDir), held while fit() runs. */
export const RUN_LOCK_FILE = 'train.lock';

/** Where one fit() stands; a resume restores the first four fields from a checkpoint. */
interface Progress {
  runId: string;
  iteration: number; // steps done
  epoch: number; // 0-based epoch of the next batch
  batch: number; // index of the next batch in that epoch
  totals: EpochTotals; // the epoch in progress, so far
  epochSeconds: number;
  smoothedRate: number; // images/s, exponentially smoothed
  lr: number; // of the last step
  lambda?: number;
  lastEvalAt: number;
  lastCheckpointAt: number;
  lastCheckpoint?: Checkpoint;
  log?: MetricsLog;
}

// The models a fit() is training: two Trainers stepping one model would interleave their steps.
const modelsInTraining = new WeakSet<FaceModel>();

export class Trainer<E extends EvaluationLike = EvaluationLike> extends AwaitedEmitter<
  TrainerEvents<E>
> {
  readonly model: FaceModel;
  readonly data: TrainerOptions<E>['data'];
  readonly totalIterations: number;
  readonly settings: TrainerSettings;
  private readonly options: TrainerOptions<E>;
  private running = false;
  private stopRequested = false;
  private stopAgreed = false; // distributed: some rank asked to stop, so every rank stops here
  private progress: Progress | undefined;
  private group: ProcessGroup | undefined;

  constructor(options: TrainerOptions<E>) {
    super();
    this.settings = resolveTrainerOptions(options);
    this.totalIterations = this.settings.totalIterations;
    this.model = options.model;
    this.data = options.data;
    this.options = options;
  }

  /** Steps done so far (including those before a resume). */
  get iterationsDone(): number {
    return this.progress?.iteration ?? 0;
  }

  /**
   * Asks fit() to stop after the current step; it checkpoints (with outDir) and resolves. Called
   * before fit(), it is kept: fit() then stops before its first step (distributed: after it).
   */
  stop(): void {
    this.stopRequested = true;
  }

  async fit(): Promise<History<E>> {
    if (this.running) {
      throw new Error('Trainer.fit() is already running; await it before calling fit() again');
    }
    if (this.progress) {
      throw new Error(
        `Trainer.fit() has trained with this Trainer already (to iteration ${this.progress.iteration}); ` +
          'to train on, make a new Trainer with resume: a checkpoint of that run',
      );
    }
    if (modelsInTraining.has(this.model)) {
      throw new Error(
        "Trainer.fit(): the model is being trained by another Trainer's fit(); one at a time",
      );
    }
    modelsInTraining.add(this.model);
    const release = this.model.hold?.("a Trainer's fit()");
    this.running = true;
    const distributed = this.options.distributed;
    let joined: Awaited<ReturnType<typeof joinDistributedRun>> | undefined;
    let finished = false;
    try {
      joined = distributed && (await joinDistributedRun(distributed, this.model, this.data));
      this.group = joined ? joined.group : undefined;
      const history = await this.run();
      finished = true;
      return history;
    } finally {
      release?.();
      modelsInTraining.delete(this.model);
      this.running = false;
      this.group = undefined;
      // A run that failed leaves at once; one that finished waits for the other ranks' end.
      if (joined?.owned && finished) await joined.group.leave();
      else if (joined?.owned) joined.group.dispose();
    }
  }

  private async run(): Promise<History<E>> {
    const release = await this.lockOutDir();
    try {
      return await this.runLocked();
    } finally {
      await release?.();
    }
  }

  /** Two runs writing one folder would mix their logs, checkpoints and reports. */
  private async lockOutDir(): Promise<(() => Promise<void>) | undefined> {
    const { outDir } = this.options;
    if (!outDir || !this.writes) return undefined;
    await makeFolder(outDir, 'the out folder');
    return lockFolder(outDir, RUN_LOCK_FILE, 'in use by the training run of');
  }

  private async runLocked(): Promise<History<E>> {
    const p = await this.start();
    this.progress = p;
    const history: History<E> = { epochs: [], evals: [], iterations: p.iteration, stopped: false };
    try {
      while (!this.finished(p)) {
        if (!(await this.runEpoch(p, history))) break;
        await this.endEpoch(p, history);
      }
      history.stopped = this.stopping();
      if (!history.stopped || p.iteration >= this.totalIterations) await this.evaluate(p, history);
      await this.checkpoint(p, history);
      history.iterations = p.iteration;
      history.lastCheckpoint = p.lastCheckpoint;
      return history;
    } catch (error) {
      if (error instanceof NonFiniteLossError) {
        await p.log?.write({ type: 'error', iteration: error.iteration, message: error.message });
      }
      throw error;
    } finally {
      await p.log?.close();
    }
  }

  /** A fresh position, or the checkpoint's; opens metrics.jsonl when there is an outDir. */
  private async start(): Promise<Progress> {
    const from = this.options.resume;
    const checkpoint =
      from === undefined ? undefined : typeof from === 'string' ? await readCheckpoint(from) : from;
    if (checkpoint) {
      this.checkCheckpoint(checkpoint);
      const done = nothingLeft(checkpoint.state.iteration, this.totalIterations);
      if (done) throw new Error(`${done}; give a longer epochs or iterations`);
    }
    const p: Progress = {
      runId: checkpoint?.state.runId ?? crypto.randomBytes(8).toString('hex'),
      iteration: checkpoint?.state.iteration ?? 0,
      epoch: checkpoint?.state.epoch ?? 0,
      batch: checkpoint?.state.batch ?? 0,
      totals: checkpoint ? { ...checkpoint.state.epochTotals } : emptyTotals(),
      epochSeconds: 0,
      smoothedRate: 0,
      lr: 0,
      lastEvalAt: -1,
      lastCheckpointAt: checkpoint?.state.iteration ?? -1,
      lastCheckpoint: checkpoint,
    };
    if (this.group) {
      await expectSameOnEveryRank(this.group, {
        iteration: p.iteration,
        epoch: p.epoch,
        batch: p.batch,
        totalIterations: this.totalIterations,
        batchesPerEpoch: this.data.batchesPerEpoch,
        'labels (digest)': digest48(this.data.labelling?.digest ?? null),
        outDir: this.options.outDir ? 1 : 0,
        // Ranks that step with other settings would drift apart.
        ...this.stepSettings(),
      });
    }
    const { outDir } = this.options;
    if (outDir && this.writes) {
      p.log = new MetricsLog(path.join(outDir, 'metrics.jsonl'));
      await p.log.open(
        checkpoint && {
          iteration: p.iteration,
          closesEpoch: this.epochDone(p),
        },
      );
    }
    if (checkpoint) {
      const changes = this.changedSince(checkpoint.state);
      await p.log?.write({ type: 'resume', iteration: p.iteration, dir: checkpoint.dir, changes });
      await this.emit('resume', { checkpoint, changes });
    }
    return p;
  }

  /** The settings of every step, as numbers every rank must agree on. */
  private stepSettings(): Record<string, number> {
    const { optimizer, schedule, lambda } = this.settings;
    return {
      lr: optimizer.lr,
      momentum: optimizer.momentum,
      weightDecay: optimizer.weightDecay,
      nesterov: optimizer.nesterov ? 1 : 0,
      'schedule (digest)': digest48(schedule),
      'lambda schedule (digest)': digest48(lambda),
    };
  }

  /**
   * Throws when `checkpoint` cannot resume this run: it is of another model, or of a run on data
   * labelled otherwise, or whose epochs were another length. fit() checks it too.
   */
  checkCheckpoint(checkpoint: Checkpoint): void {
    const state = checkpoint.state;
    if (state.classes !== this.model.classes || state.arch !== this.model.arch) {
      throw new Error(
        `checkpoint ${checkpoint.dir} is of ${state.arch} with ${state.classes} classes, ` +
          `the model is ${this.model.arch} with ${this.model.classes}`,
      );
    }
    const steps = this.model.steps;
    if (state.modelSteps !== undefined && steps !== undefined && state.modelSteps !== steps) {
      throw new Error(
        `checkpoint ${checkpoint.dir} saved a model that had taken ${state.modelSteps} steps; ` +
          `this one has taken ${steps}. Resume with the checkpoint's model: ` +
          `loadModel(checkpoint.modelPath)`,
      );
    }
    // Labels renumbered (an identity's folder removed) leave the head's rows to other people.
    const then = state.labelling;
    const now = this.data.labelling;
    if (then && now && then.digest !== now.digest) {
      throw new Error(
        `checkpoint ${checkpoint.dir} is of a run on other data: its ${then.images} images of ` +
          `${then.classes} classes were labelled otherwise than the ${now.images} images of ` +
          `${now.classes} classes given. The model's classes stand for that run's identities: ` +
          "resume on the run's data, or start a new run",
      );
    }
    const batches = this.data.batchesPerEpoch;
    if (state.batchesPerEpoch !== undefined && state.batchesPerEpoch !== batches) {
      const ranks = this.data.worldSize ?? 1;
      const runRanks = state.worldSize ?? ranks;
      const count = (n: number) => `${n} rank${n > 1 ? 's' : ''}`;
      const [why, onRanks] =
        runRanks === ranks
          ? ['', '']
          : [
              ` with ${count(ranks)}, the run had ${runRanks} (a last batch of fewer images ` +
                'than ranks is left out)',
              `, on ${count(runRanks)}`,
            ];
      throw new Error(
        `checkpoint ${checkpoint.dir} is of a run with ${state.batchesPerEpoch} batches an ` +
          `epoch; the data gives ${batches}${why}. Resume with the run's batch size and ` +
          `data${onRanks} (its position in an epoch, and the epochs left, mean nothing with ` +
          'others)',
      );
    }
  }

  /** The settings that differ from a checkpoint's, as 'name old -> new'. */
  private changedSince(state: CheckpointState): string[] {
    // Checkpoints before schedules were recorded whole left their defaults out.
    const before = { ...state, schedule: resolveSchedule(state.schedule) };
    const changes = differences(before, this.stateSettings());
    // The loader's, where both the checkpoint and the source record them.
    const loader = this.data.settings;
    if (state.loader && loader) changes.push(...differences(state.loader, loader, 'loader.'));
    return changes;
  }

  private finished(p: Progress): boolean {
    return p.iteration >= this.totalIterations || this.stopping();
  }

  /** Whether p stands after the last batch of epoch p.epoch, before that epoch is closed. */
  private epochDone(p: Progress): boolean {
    return p.batch >= this.data.batchesPerEpoch;
  }

  /** Distributed runs stop where every rank has agreed to (after a step), others at stop(). */
  private stopping(): boolean {
    return this.group ? this.stopAgreed : this.stopRequested;
  }

  /** Whether this process writes the run's files and evaluates: rank 0, or the only one. */
  private get writes(): boolean {
    return !this.group || this.group.isWriter;
  }

  /** Runs the rest of epoch p.epoch; false when it stopped before the epoch's end. */
  private async runEpoch(p: Progress, history: History<E>): Promise<boolean> {
    for await (const batch of this.data.batches(p.epoch, p.batch)) {
      await this.step(p, batch);
      if (dueAfterStep(this.options.evalEvery, p.iteration)) await this.evaluate(p, history);
      if (dueAfterStep(this.settings.checkpointEvery, p.iteration)) {
        await this.checkpoint(p, history);
      }
      if (this.finished(p)) return this.epochDone(p);
    }
    if (p.totals.batches === 0)
      throw new Error(`the data gave no batches for epoch ${p.epoch + 1}`);
    return true;
  }

  /** One training step and its bookkeeping: totals, the metrics line, the 'batch' event. */
  private async step(p: Progress, batch: Batch): Promise<void> {
    if (this.options.batchSize !== undefined && batch.n > this.options.batchSize) {
      throw new RangeError(
        `the loader gave a batch of ${batch.n} images; batchSize is ${this.options.batchSize}`,
      );
    }
    const { optimizer, schedule, lambda: lambdaSchedule } = this.settings;
    p.lr = learningRate(schedule, optimizer.lr, p.iteration, this.totalIterations);
    p.lambda = stepLambda(this.model.head, lambdaSchedule, p.iteration);
    const start = performance.now();
    const result = await this.model.trainStep({
      images: batch.images,
      labels: batch.labels,
      n: batch.n,
      flip: batch.flip,
      lr: p.lr,
      lambda: p.lambda,
      momentum: optimizer.momentum,
      weightDecay: optimizer.weightDecay,
      nesterov: optimizer.nesterov,
    });
    const seconds = (performance.now() - start) / 1000;
    if (!Number.isFinite(result.loss) || result.updated === false) {
      // Distributed, only rank 0 knows the folder; every rank knows the iteration.
      const where = p.lastCheckpoint
        ? `the last good checkpoint is ${p.lastCheckpoint.dir}`
        : p.lastCheckpointAt >= 0
          ? `rank 0 wrote the last good checkpoint, at iteration ${p.lastCheckpointAt}`
          : 'no checkpoint was written before it';
      const what = Number.isFinite(result.loss)
        ? `the update at loss ${result.loss} would have made the weights unusable`
        : `the loss became ${result.loss}`;
      throw new NonFiniteLossError(
        `training diverged: ${what} at iteration ${p.iteration + 1} ` +
          // Numbered as the 'batch' records: epochs from 1, batches from 0.
          `(epoch ${p.epoch + 1}, batch ${p.batch}, lr ${p.lr}); ${where}. ` +
          'Lower the learning rate or lengthen the warm-up.',
        p.iteration + 1,
        p.lastCheckpoint,
      );
    }
    // Every rank stops after the same step: a stop() on any one stops them all.
    if (this.group && (await this.group.anyTrue(this.stopRequested))) this.stopAgreed = true;
    const images = result.images ?? batch.n; // every rank's, when distributed
    p.iteration++;
    p.batch++;
    p.totals.lossSum += result.loss;
    p.totals.accuracySum += result.accuracy;
    p.totals.batches++;
    p.totals.images += images;
    p.epochSeconds += seconds;
    const rate = images / Math.max(seconds, 1e-9);
    p.smoothedRate = p.smoothedRate === 0 ? rate : 0.9 * p.smoothedRate + 0.1 * rate;
    const record: BatchRecord = {
      iteration: p.iteration,
      totalIterations: this.totalIterations,
      epoch: p.epoch + 1,
      batch: p.batch - 1,
      n: images,
      loss: result.loss,
      accuracy: result.accuracy,
      lr: p.lr,
      lambda: p.lambda,
      seconds,
      imagesPerSecond: p.smoothedRate,
    };
    await p.log?.write({ type: 'batch', ...record });
    await this.emit('batch', record);
  }

  /** Closes the epoch just run: its record and event, then the evaluation and checkpoint due. */
  private async endEpoch(p: Progress, history: History<E>): Promise<void> {
    const record: EpochRecord = {
      epoch: p.epoch + 1,
      iteration: p.iteration,
      loss: p.totals.lossSum / p.totals.batches,
      accuracy: p.totals.accuracySum / p.totals.batches,
      images: p.totals.images,
      seconds: p.epochSeconds,
      imagesPerSecond: p.totals.images / Math.max(p.epochSeconds, 1e-9),
      lr: p.lr,
      lambda: p.lambda,
    };
    p.epoch++;
    p.batch = 0;
    p.totals = emptyTotals();
    p.epochSeconds = 0;
    history.epochs.push(record);
    await p.log?.write({ type: 'epoch', ...record });
    await this.emit('epoch', record);
    const checkpointDue = dueAfterEpoch(this.settings.checkpointEvery, p.epoch);
    if (dueAfterEpoch(this.options.evalEvery, p.epoch)) {
      try {
        await this.evaluate(p, history);
      } catch (error) {
        // The epoch's training stays: a failed evaluation costs only itself. (Distributed, the
        // other ranks wait at the evaluation's barrier: no checkpoint there.)
        if (checkpointDue && !this.group) await this.checkpoint(p, history).catch(() => undefined);
        throw error;
      }
    }
    if (checkpointDue) await this.checkpoint(p, history);
  }

  // Distributed: rank 0 evaluates while the others wait for it at a barrier.
  private async evaluate(p: Progress, history: History<E>): Promise<void> {
    if (p.lastEvalAt === p.iteration) return;
    if (this.writes) await this.evaluateHere(p, history);
    p.lastEvalAt = p.iteration;
    await this.group?.barrier();
  }

  private async evaluateHere(p: Progress, history: History<E>): Promise<void> {
    const evaluator = this.options.evaluator;
    if (!evaluator) return;
    const start = performance.now();
    const result = await evaluator.evaluate(this.model);
    // The log, the report and every summary read it as a figure.
    const accuracy = (result as Partial<EvaluationLike> | null)?.accuracy;
    if (typeof accuracy !== 'number' || !Number.isFinite(accuracy)) {
      throw new TypeError(
        `the evaluator returned ${describeReceived(accuracy)} for accuracy at iteration ${p.iteration}; ` +
          'it must resolve to { accuracy } with a finite number',
      );
    }
    // Epochs completed: an evaluation at an epoch's last step comes before its 'epoch' record.
    const epoch = this.epochDone(p) ? p.epoch + 1 : p.epoch;
    const record: EvalRecord<E> = {
      epoch,
      iteration: p.iteration,
      seconds: (performance.now() - start) / 1000,
      result,
    };
    history.evals.push(record);
    await p.log?.write({
      type: 'eval',
      iteration: p.iteration,
      epoch,
      seconds: record.seconds,
      accuracy: result.accuracy,
      std: result.std,
    });
    await this.emit('eval', record);
  }

  // Distributed: rank 0 writes while the others wait for it at a barrier.
  private async checkpoint(p: Progress, history: History<E>): Promise<void> {
    if (!this.options.outDir || p.lastCheckpointAt === p.iteration) return;
    if (this.writes) await this.checkpointHere(p, history);
    p.lastCheckpointAt = p.iteration;
    await this.group?.barrier();
  }

  private async checkpointHere(p: Progress, history: History<E>): Promise<void> {
    const outDir = this.options.outDir!;
    // A folder removed (or replaced) under the run: its log went with it, and another run may
    // hold the folder now. Stopping beats writing checkpoints there as if nothing happened.
    if (!(await holdsLock(outDir, RUN_LOCK_FILE))) {
      throw new Error(
        `${outDir} no longer holds this run's lock (${RUN_LOCK_FILE}): the folder was removed ` +
          `or replaced while the run trained, with its log; stopping at iteration ${p.iteration} ` +
          'rather than write checkpoints into it',
      );
    }
    p.lastCheckpoint = await writeCheckpoint(
      path.join(outDir, 'checkpoints'),
      this.model,
      {
        ...this.stateSettings(),
        runId: p.runId,
        iteration: p.iteration,
        epoch: p.epoch,
        batch: p.batch,
        epochTotals: { ...p.totals },
        lr: p.lr,
        lambda: p.lambda,
        arch: this.model.arch,
        classes: this.model.classes,
        head: this.model.head,
        embeddingDim: this.model.embeddingDim,
        batchesPerEpoch: this.data.batchesPerEpoch,
        ...(this.options.batchSize !== undefined ? { batchSize: this.options.batchSize } : {}),
        modelSteps: this.model.steps,
        loader: this.data.settings,
        labelling: this.data.labelling,
        worldSize: this.data.worldSize ?? 1,
      },
      this.settings.keepCheckpoints,
    );
    history.lastCheckpoint = p.lastCheckpoint;
    await p.log?.write({ type: 'checkpoint', iteration: p.iteration, dir: p.lastCheckpoint.dir });
    await this.emit('checkpoint', p.lastCheckpoint);
  }

  /** The settings a checkpoint records, which a resume must match. */
  private stateSettings(): Pick<
    CheckpointState,
    'optimizer' | 'schedule' | 'lambdaSchedule' | 'totalIterations' | 'seed'
  > {
    const { optimizer, schedule, lambda, totalIterations, seed } = this.settings;
    return { optimizer, schedule, lambdaSchedule: lambda, totalIterations, seed };
  }
}

/** The keys of `now` whose values differ in `before`, as 'prefix+key old -> new'. */
function differences<T extends object>(before: T, now: T, prefix = ''): string[] {
  return (Object.keys(now) as (keyof T & string)[])
    .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(now[key]))
    .map((key) => `${prefix}${key} ${JSON.stringify(before[key])} -> ${JSON.stringify(now[key])}`);
}

/**
 * Values the ranks compare that are not numbers (schedules, the labels' digest): 48 bits of a
 * sha256 of their JSON, exact in the float64 all-reduce.
 */
function digest48(value: unknown): number {
  return crypto.createHash('sha256').update(JSON.stringify(value)).digest().readUIntBE(0, 6);
}

/** Why a resume at iteration `at` has nothing to train in a run of `total` steps, if it has not. */
export function nothingLeft(at: number, total: number): string | undefined {
  if (at < total) return undefined;
  return `nothing to train: the checkpoint is at iteration ${at} and the run ends at ${total}`;
}

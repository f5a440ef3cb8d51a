// Trainer: runs a FaceModel over a BatchSource with the LR and lambda schedules, reports
// events, logs metrics.jsonl, evaluates, checkpoints, and resumes exactly from a checkpoint.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { BatchSource } from '../data/types';
import type { FaceModel } from '../models/types';
import {
  readCheckpoint,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointState,
  type EpochTotals,
} from './checkpoint';
import {
  DEFAULT_LAMBDA,
  stepLambda,
  validateLambdaSchedule,
  type LambdaSchedule,
} from './lambda-schedule';
import { MetricsLog } from './metrics-log';
import { ProgressBar } from './progress-bar';
import { learningRate, PAPER_ITERATIONS, validateSchedule, type LrSchedule } from './schedule';
import {
  AwaitedEmitter,
  type EpochRecord,
  type EvalRecord,
  type EvaluationLike,
  type TrainerEvents,
} from './trainer-events';

/** How often something happens: a number means every that many epochs. */
export type Every = number | { epochs?: number; iterations?: number };

export interface OptimizerOptions {
  lr?: number; // 0.1
  momentum?: number; // 0.9
  weightDecay?: number; // 5e-4
  nesterov?: boolean; // false
}

export interface ModelEvaluator<E extends EvaluationLike> {
  evaluate(model: FaceModel): Promise<E>;
}

export interface TrainerOptions<E extends EvaluationLike = EvaluationLike> {
  model: FaceModel;
  data: BatchSource;
  /** Stop after this many epochs, or after `iterations` steps (default: the paper's 28k). */
  epochs?: number;
  iterations?: number;
  /** Informational: the loader decides the batch size; a mismatch with it is an error. */
  batchSize?: number;
  optimizer?: OptimizerOptions;
  /** Default: the paper's multistep (x0.1 at 16k and 24k). */
  schedule?: LrSchedule;
  /** SphereFace lambda annealing (sphere head only); false keeps the head's own lambda. */
  lambda?: Partial<LambdaSchedule> | false;
  evaluator?: ModelEvaluator<E>;
  /** Default: once, at the end. */
  evalEvery?: Every;
  /** Default: every epoch (and at the end) when outDir is set. */
  checkpointEvery?: Every;
  keepCheckpoints?: number; // 3; 0 keeps all
  /** metrics.jsonl and checkpoints/ go here; nothing is written without it. */
  outDir?: string;
  /** Recorded in checkpoints; the loader and the model take their own seeds. */
  seed?: number;
  /** A checkpoint (or its folder) to continue from; the model must be the one it saved. */
  resume?: Checkpoint | string;
  /** Progress bar: a TTY stream, true for stdout, false for none (default: stdout). */
  progress?: boolean | { isTTY?: boolean; columns?: number; write(text: string): boolean };
}

export interface History<E extends EvaluationLike = EvaluationLike> {
  epochs: EpochRecord[];
  evals: EvalRecord<E>[];
  iterations: number; // total steps done, including those before a resume
  stopped: boolean; // stop() was called
  lastCheckpoint?: Checkpoint;
}

/** Training diverged; the model's weights are no longer usable, the last checkpoint is. */
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

function checkPositiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`Expected a positive integer for ${name} but received ${value}`);
  }
}

function checkEvery(name: string, every: Every | undefined): void {
  if (every === undefined) return;
  if (typeof every === 'number') return checkPositiveInteger(name, every);
  checkPositiveInteger(`${name}.epochs`, every.epochs);
  checkPositiveInteger(`${name}.iterations`, every.iterations);
}

function dueAfterStep(every: Every | undefined, iteration: number): boolean {
  return typeof every === 'object' && every.iterations !== undefined
    ? iteration % every.iterations === 0
    : false;
}

function dueAfterEpoch(every: Every | undefined, epochsDone: number): boolean {
  if (every === undefined) return false;
  const epochs = typeof every === 'number' ? every : every.epochs;
  return epochs !== undefined && epochsDone % epochs === 0;
}

export class Trainer<E extends EvaluationLike = EvaluationLike> extends AwaitedEmitter<
  TrainerEvents<E>
> {
  readonly model: FaceModel;
  readonly data: BatchSource;
  readonly totalIterations: number;
  readonly baseLr: number;
  readonly schedule: LrSchedule;
  readonly lambdaSchedule: LambdaSchedule | false;
  private readonly options: TrainerOptions<E>;
  private running = false;
  private stopRequested = false;
  private iteration = 0;
  private epoch = 0;
  private batch = 0;
  private totals: EpochTotals = { lossSum: 0, accuracySum: 0, batches: 0, images: 0 };
  private lastCheckpoint: Checkpoint | undefined;

  constructor(options: TrainerOptions<E>) {
    super();
    const { model, data } = options;
    if (!model || typeof model.trainStep !== 'function') {
      throw new TypeError('Expected a FaceModel for model');
    }
    if (!data || typeof data.batches !== 'function') {
      throw new TypeError('Expected a BatchSource for data');
    }
    if (data.classes > model.classes) {
      throw new RangeError(
        `the data has ${data.classes} classes but the model's head has only ${model.classes}`,
      );
    }
    if (data.height !== model.inputSize.height || data.width !== model.inputSize.width) {
      throw new RangeError(
        `the data's images are ${data.height}x${data.width} but ${model.arch} takes ` +
          `${model.inputSize.height}x${model.inputSize.width}`,
      );
    }
    if (options.epochs !== undefined && options.iterations !== undefined) {
      throw new RangeError('Expected epochs or iterations, not both');
    }
    checkPositiveInteger('epochs', options.epochs);
    checkPositiveInteger('iterations', options.iterations);
    checkPositiveInteger('batchSize', options.batchSize);
    checkEvery('evalEvery', options.evalEvery);
    checkEvery('checkpointEvery', options.checkpointEvery);
    if (
      options.keepCheckpoints !== undefined &&
      !(Number.isInteger(options.keepCheckpoints) && options.keepCheckpoints >= 0)
    ) {
      throw new RangeError(
        `Expected a non-negative integer for keepCheckpoints but received ${options.keepCheckpoints}`,
      );
    }
    const opt = options.optimizer ?? {};
    this.baseLr = opt.lr ?? 0.1;
    if (!(Number.isFinite(this.baseLr) && this.baseLr > 0)) {
      throw new RangeError(`Expected a positive number for optimizer.lr but received ${opt.lr}`);
    }
    for (const key of ['momentum', 'weightDecay'] as const) {
      const value = opt[key];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new RangeError(
          `Expected a non-negative number for optimizer.${key} but received ${value}`,
        );
      }
    }
    this.schedule = options.schedule ?? { kind: 'multistep' };
    validateSchedule(this.schedule);
    this.lambdaSchedule =
      options.lambda === false ? false : { ...DEFAULT_LAMBDA, ...(options.lambda ?? {}) };
    if (this.lambdaSchedule) validateLambdaSchedule(this.lambdaSchedule);
    this.totalIterations =
      options.iterations ??
      (options.epochs !== undefined ? options.epochs * data.batchesPerEpoch : PAPER_ITERATIONS);
    this.model = model;
    this.data = data;
    this.options = options;
  }

  /** Steps done so far (including those before a resume). */
  get iterationsDone(): number {
    return this.iteration;
  }

  /** Asks a running fit() to stop after the current step; it checkpoints (with outDir) and resolves. */
  stop(): void {
    this.stopRequested = true;
  }

  async fit(): Promise<History<E>> {
    if (this.running) {
      throw new Error('Trainer.fit() is already running; await it before calling fit() again');
    }
    this.running = true;
    this.stopRequested = false;
    try {
      return await this.run();
    } finally {
      this.running = false;
    }
  }

  private async restore(): Promise<void> {
    const from = this.options.resume;
    if (from === undefined) return;
    const checkpoint = typeof from === 'string' ? await readCheckpoint(from) : from;
    const state = checkpoint.state;
    if (state.classes !== this.model.classes || state.arch !== this.model.arch) {
      throw new Error(
        `checkpoint ${checkpoint.dir} is of ${state.arch} with ${state.classes} classes, ` +
          `the model is ${this.model.arch} with ${this.model.classes}`,
      );
    }
    this.iteration = state.iteration;
    this.epoch = state.epoch;
    this.batch = state.batch;
    this.totals = { ...state.epochTotals };
    this.lastCheckpoint = checkpoint;
  }

  private async run(): Promise<History<E>> {
    await this.restore();
    const { outDir } = this.options;
    const log = outDir ? new MetricsLog(path.join(outDir, 'metrics.jsonl')) : undefined;
    if (outDir) await fs.mkdir(outDir, { recursive: true });
    await log?.open(this.options.resume !== undefined ? this.iteration : undefined);
    const progressOption = this.options.progress ?? true;
    const progress =
      progressOption === false
        ? undefined
        : new ProgressBar(progressOption === true ? process.stdout : progressOption);
    const history: History<E> = {
      epochs: [],
      evals: [],
      iterations: this.iteration,
      stopped: false,
    };
    const checkpointEvery = this.options.checkpointEvery ?? (outDir ? 1 : undefined);
    let lastEvalAt = -1;
    let lastCheckpointAt = this.lastCheckpoint?.state.iteration ?? -1;
    let smoothedRate = 0;
    let epochSeconds = 0;
    let lr = 0;
    let lambda: number | undefined;

    const checkpoint = async () => {
      if (!outDir || lastCheckpointAt === this.iteration) return;
      this.lastCheckpoint = await writeCheckpoint(
        path.join(outDir, 'checkpoints'),
        this.model,
        this.checkpointState(lr, lambda),
        this.options.keepCheckpoints ?? 3,
      );
      lastCheckpointAt = this.iteration;
      history.lastCheckpoint = this.lastCheckpoint;
      await log?.write({
        type: 'checkpoint',
        iteration: this.iteration,
        dir: this.lastCheckpoint.dir,
      });
      await this.emit('checkpoint', this.lastCheckpoint);
    };
    const evaluate = async () => {
      const evaluator = this.options.evaluator;
      if (!evaluator || lastEvalAt === this.iteration) return;
      progress?.clear();
      const start = performance.now();
      const result = await evaluator.evaluate(this.model);
      const record: EvalRecord<E> = {
        epoch: this.epoch,
        iteration: this.iteration,
        seconds: (performance.now() - start) / 1000,
        result,
      };
      lastEvalAt = this.iteration;
      history.evals.push(record);
      await log?.write({
        type: 'eval',
        iteration: this.iteration,
        epoch: this.epoch,
        seconds: record.seconds,
        accuracy: result.accuracy,
        std: result.std,
      });
      await this.emit('eval', record);
    };

    try {
      while (this.iteration < this.totalIterations && !this.stopRequested) {
        let finishedEpoch = true;
        for await (const batch of this.data.batches(this.epoch, this.batch)) {
          if (this.options.batchSize !== undefined && batch.n > this.options.batchSize) {
            throw new RangeError(
              `the loader gave a batch of ${batch.n} images; batchSize is ${this.options.batchSize}`,
            );
          }
          lr = learningRate(this.schedule, this.baseLr, this.iteration, this.totalIterations);
          lambda = stepLambda(this.model.head, this.lambdaSchedule, this.iteration);
          const start = performance.now();
          const opt = this.options.optimizer ?? {};
          const result = await this.model.trainStep({
            images: batch.images,
            labels: batch.labels,
            n: batch.n,
            flip: batch.flip,
            lr,
            lambda,
            momentum: opt.momentum ?? 0.9,
            weightDecay: opt.weightDecay ?? 5e-4,
            nesterov: opt.nesterov ?? false,
          });
          const seconds = (performance.now() - start) / 1000;
          if (!Number.isFinite(result.loss) || result.updated === false) {
            const where = this.lastCheckpoint
              ? `the last good checkpoint is ${this.lastCheckpoint.dir}`
              : 'no checkpoint was written before it';
            const what = Number.isFinite(result.loss)
              ? `the update at loss ${result.loss} would have made the weights unusable`
              : `the loss became ${result.loss}`;
            throw new NonFiniteLossError(
              `training diverged: ${what} at iteration ${this.iteration + 1} ` +
                `(epoch ${this.epoch + 1}, batch ${this.batch + 1}, lr ${lr}); ${where}. ` +
                'Lower the learning rate or lengthen the warm-up.',
              this.iteration + 1,
              this.lastCheckpoint,
            );
          }
          this.iteration++;
          this.batch++;
          this.totals.lossSum += result.loss;
          this.totals.accuracySum += result.accuracy;
          this.totals.batches++;
          this.totals.images += batch.n;
          epochSeconds += seconds;
          const rate = batch.n / Math.max(seconds, 1e-9);
          smoothedRate = smoothedRate === 0 ? rate : 0.9 * smoothedRate + 0.1 * rate;
          const record = {
            iteration: this.iteration,
            epoch: this.epoch,
            batch: this.batch - 1,
            n: batch.n,
            loss: result.loss,
            accuracy: result.accuracy,
            lr,
            lambda,
            seconds,
            imagesPerSecond: smoothedRate,
          };
          await log?.write({ type: 'batch', ...record });
          progress?.update({
            iteration: this.iteration,
            total: this.totalIterations,
            epoch: this.epoch,
            loss: result.loss,
            accuracy: result.accuracy,
            lr,
            lambda,
            imagesPerSecond: smoothedRate,
            secondsPerIteration: batch.n / Math.max(smoothedRate, 1e-9),
          });
          await this.emit('batch', record);
          if (dueAfterStep(this.options.evalEvery, this.iteration)) await evaluate();
          if (dueAfterStep(checkpointEvery, this.iteration)) await checkpoint();
          if (this.iteration >= this.totalIterations || this.stopRequested) {
            finishedEpoch = this.batch >= this.data.batchesPerEpoch;
            break;
          }
        }
        if (!finishedEpoch) break;
        if (this.totals.batches === 0) {
          throw new Error(`the data gave no batches for epoch ${this.epoch + 1}`);
        }
        const epochRecord: EpochRecord = {
          epoch: this.epoch,
          iteration: this.iteration,
          loss: this.totals.lossSum / this.totals.batches,
          accuracy: this.totals.accuracySum / this.totals.batches,
          images: this.totals.images,
          seconds: epochSeconds,
          imagesPerSecond: this.totals.images / Math.max(epochSeconds, 1e-9),
          lr,
          lambda,
        };
        this.epoch++;
        this.batch = 0;
        this.totals = { lossSum: 0, accuracySum: 0, batches: 0, images: 0 };
        epochSeconds = 0;
        history.epochs.push(epochRecord);
        progress?.clear();
        await log?.write({ type: 'epoch', ...epochRecord });
        await this.emit('epoch', epochRecord);
        if (dueAfterEpoch(this.options.evalEvery, this.epoch)) await evaluate();
        if (dueAfterEpoch(checkpointEvery, this.epoch)) await checkpoint();
      }
      progress?.clear();
      history.stopped = this.stopRequested;
      if (!history.stopped || this.iteration >= this.totalIterations) await evaluate();
      await checkpoint();
      history.iterations = this.iteration;
      history.lastCheckpoint = this.lastCheckpoint;
      return history;
    } catch (error) {
      progress?.clear();
      if (error instanceof NonFiniteLossError) {
        await log?.write({ type: 'error', iteration: error.iteration, message: error.message });
      }
      throw error;
    } finally {
      await log?.close();
    }
  }

  private checkpointState(
    lr: number,
    lambda: number | undefined,
  ): Omit<CheckpointState, 'version' | 'savedAt'> {
    return {
      iteration: this.iteration,
      epoch: this.epoch,
      batch: this.batch,
      epochTotals: { ...this.totals },
      lr,
      lambda,
      baseLr: this.baseLr,
      schedule: this.schedule,
      lambdaSchedule: this.lambdaSchedule,
      totalIterations: this.totalIterations,
      seed: this.options.seed ?? 0,
      arch: this.model.arch,
      classes: this.model.classes,
      head: this.model.head,
    };
  }
}

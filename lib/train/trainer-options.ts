// The Trainer's options: their types, their defaults (stated here once) and their checks.
import type { BatchSource } from '../data/types';
import type { DistributedOptions } from '../dist/distributed-options';
import type { ProcessGroup } from '../dist/process-group';
import { SGD_DEFAULTS } from '../models/defaults';
import type { FaceModel } from '../models/types';
import type { Checkpoint } from './checkpoint';
import { DEFAULT_LAMBDA, validateLambdaSchedule, type LambdaSchedule } from './lambda-schedule';
import { PAPER_ITERATIONS, PAPER_LR, validateSchedule, type LrSchedule } from './schedule';
import type { EvaluationLike } from './trainer-events';

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
  /** Informational: the loader decides the batch size; a larger batch from it is an error. */
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
  /**
   * A checkpoint (or its folder) to continue from; the model must be the one it saved. Settings
   * that differ from the checkpoint's (e.g. more epochs) are reported in the 'resume' event.
   */
  resume?: Checkpoint | string;
  /**
   * Train as one rank of several (README: Distributed): the group to use, or where to meet
   * (torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT fill what is not given). The data
   * must serve this rank's part of each batch; every rank gets the same options; rank 0 alone
   * writes metrics and checkpoints and evaluates. A group made here is left at the end of fit().
   */
  distributed?: DistributedOptions | ProcessGroup;
}

/** Checkpoints of a run kept by default (older ones of the same run are deleted). */
export const DEFAULT_KEEP_CHECKPOINTS = 3;

/** The options with every default filled in and every field checked. */
export interface TrainerSettings {
  totalIterations: number;
  optimizer: Required<OptimizerOptions>;
  schedule: LrSchedule;
  lambda: LambdaSchedule | false;
  checkpointEvery?: Every;
  keepCheckpoints: number;
  seed: number;
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

function checkModelAndData(model: FaceModel, data: BatchSource): void {
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
}

function resolveOptimizer(opt: OptimizerOptions): Required<OptimizerOptions> {
  const resolved = { lr: PAPER_LR, ...SGD_DEFAULTS, ...opt };
  if (!(Number.isFinite(resolved.lr) && resolved.lr > 0)) {
    throw new RangeError(`Expected a positive number for optimizer.lr but received ${opt.lr}`);
  }
  for (const key of ['momentum', 'weightDecay'] as const) {
    if (!(Number.isFinite(resolved[key]) && resolved[key] >= 0)) {
      throw new RangeError(
        `Expected a non-negative number for optimizer.${key} but received ${opt[key]}`,
      );
    }
  }
  return resolved;
}

export function resolveTrainerOptions<E extends EvaluationLike>(
  options: TrainerOptions<E>,
): TrainerSettings {
  checkModelAndData(options.model, options.data);
  if (options.epochs !== undefined && options.iterations !== undefined) {
    throw new RangeError('Expected epochs or iterations, not both');
  }
  checkPositiveInteger('epochs', options.epochs);
  checkPositiveInteger('iterations', options.iterations);
  checkPositiveInteger('batchSize', options.batchSize);
  checkEvery('evalEvery', options.evalEvery);
  checkEvery('checkpointEvery', options.checkpointEvery);
  const keep = options.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS;
  if (!(Number.isInteger(keep) && keep >= 0)) {
    throw new RangeError(
      `Expected a non-negative integer for keepCheckpoints but received ${keep}`,
    );
  }
  const schedule = options.schedule ?? { kind: 'multistep' };
  validateSchedule(schedule);
  const lambda = options.lambda === false ? false : { ...DEFAULT_LAMBDA, ...options.lambda };
  if (lambda) validateLambdaSchedule(lambda);
  return {
    totalIterations:
      options.iterations ??
      (options.epochs !== undefined
        ? options.epochs * options.data.batchesPerEpoch
        : PAPER_ITERATIONS),
    optimizer: resolveOptimizer(options.optimizer ?? {}),
    schedule,
    lambda,
    checkpointEvery: options.checkpointEvery ?? (options.outDir ? 1 : undefined),
    keepCheckpoints: keep,
    seed: options.seed ?? 0,
  };
}

/** Whether `every` asks for something after step `iteration` (1-based count of steps done). */
export function dueAfterStep(every: Every | undefined, iteration: number): boolean {
  return typeof every === 'object' && every.iterations !== undefined
    ? iteration % every.iterations === 0
    : false;
}

/** Whether `every` asks for something after `epochsDone` whole epochs. */
export function dueAfterEpoch(every: Every | undefined, epochsDone: number): boolean {
  if (every === undefined) return false;
  const epochs = typeof every === 'number' ? every : every.epochs;
  return epochs !== undefined && epochsDone % epochs === 0;
}

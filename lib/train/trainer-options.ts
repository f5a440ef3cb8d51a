// The Trainer's options: their types, their defaults (stated here once) and their checks.
import type { BatchSource } from '../data/types';
import { checkDistributedOptionNames, type DistributedOptions } from '../dist/distributed-options';
import { ProcessGroup } from '../dist/process-group';
import { SGD_DEFAULTS } from '../models/defaults';
import { expectFinite, expectInteger, expectObject, expectPath, fail } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import type { FaceModel } from '../models/types';
import type { Checkpoint } from './checkpoint';
import { DEFAULT_LAMBDA, validateLambdaSchedule, type LambdaSchedule } from './lambda-schedule';
import {
  PAPER_ITERATIONS,
  PAPER_LR,
  resolveSchedule,
  validateSchedule,
  type LrSchedule,
} from './schedule';
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
  /**
   * The loader decides the batch size: this one is recorded in checkpoints, and a larger batch
   * from the loader is an error.
   */
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

const TRAINER_OPTION_KEYS: OptionKeys<TrainerOptions> = {
  model: true,
  data: true,
  epochs: true,
  iterations: true,
  batchSize: true,
  optimizer: true,
  schedule: true,
  lambda: true,
  evaluator: true,
  evalEvery: true,
  checkpointEvery: true,
  keepCheckpoints: true,
  outDir: true,
  seed: true,
  resume: true,
  distributed: true,
};

/** Names given at the top that belong in a nested option, or that the folder option is not. */
const TRAINER_ELSEWHERE: Record<string, string> = {
  lr: 'optimizer.lr',
  momentum: 'optimizer.momentum',
  weightDecay: 'optimizer.weightDecay',
  nesterov: 'optimizer.nesterov',
  warmup: 'schedule.warmup',
  milestones: 'schedule.milestones',
  gamma: 'schedule.gamma',
  minLr: 'schedule.minLr',
  out: 'outDir',
  checkpointDir: 'outDir',
};

const OPTIMIZER_OPTION_KEYS: OptionKeys<OptimizerOptions> = {
  lr: true,
  momentum: true,
  weightDecay: true,
  nesterov: true,
};

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

function checkPositiveInteger(name: string, value: unknown): void {
  if (value !== undefined) expectInteger(value, name, 1);
}

function checkEvery(name: string, every: unknown): void {
  if (every === undefined) return;
  if (typeof every === 'number') return checkPositiveInteger(name, every);
  const { epochs, iterations } = expectOptions<Exclude<Every, number>>(
    every,
    name,
    { epochs: true, iterations: true },
    'a positive integer (epochs) or { epochs?, iterations? }',
  );
  checkPositiveInteger(`${name}.epochs`, epochs);
  checkPositiveInteger(`${name}.iterations`, iterations);
}

function checkEvaluator(evaluator: unknown): void {
  if (evaluator === undefined) return;
  if (typeof (evaluator as { evaluate?: unknown } | null)?.evaluate !== 'function') {
    fail('an object with an evaluate(model) method', 'evaluator', evaluator);
  }
}

function checkResume(resume: unknown): void {
  if (resume === undefined || typeof resume === 'string') {
    if (resume !== undefined) expectPath(resume, 'resume', 'a checkpoint folder path');
    return;
  }
  const c = resume as Partial<Checkpoint> | null;
  if (typeof c?.modelPath !== 'string' || typeof c.state !== 'object' || c.state === null) {
    fail('a Checkpoint (from readCheckpoint) or a checkpoint folder path', 'resume', resume);
  }
}

function checkModelAndData(model: FaceModel, data: BatchSource): void {
  if (typeof model?.trainStep !== 'function') fail('a FaceModel', 'model', model);
  if (typeof data?.batches !== 'function') fail('a BatchSource', 'data', data);
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
  expectOptions(opt, 'optimizer', OPTIMIZER_OPTION_KEYS);
  const resolved = { lr: PAPER_LR, ...SGD_DEFAULTS, ...opt };
  if (!(expectFinite(resolved.lr, 'optimizer.lr') > 0)) {
    fail('a positive number', 'optimizer.lr', resolved.lr, RangeError);
  }
  for (const key of ['momentum', 'weightDecay'] as const) {
    if (!(Number.isFinite(resolved[key]) && resolved[key] >= 0)) {
      fail('a non-negative number', `optimizer.${key}`, resolved[key], RangeError);
    }
  }
  // At 1 or more the momentum buffer sums every past gradient undamped: the weights run away.
  if (!(resolved.momentum < 1)) {
    fail('a number in [0, 1)', 'optimizer.momentum', resolved.momentum, RangeError);
  }
  if (typeof resolved.nesterov !== 'boolean') {
    fail('a boolean', 'optimizer.nesterov', resolved.nesterov);
  }
  return resolved;
}

export function resolveTrainerOptions<E extends EvaluationLike>(
  options: TrainerOptions<E>,
): TrainerSettings {
  expectOptions(
    options,
    'options',
    TRAINER_OPTION_KEYS,
    'a TrainerOptions object ({ model, data, ... })',
    TRAINER_ELSEWHERE,
  );
  checkModelAndData(options.model, options.data);
  if (options.epochs !== undefined && options.iterations !== undefined) {
    throw new RangeError('Expected epochs or iterations, not both');
  }
  checkPositiveInteger('epochs', options.epochs);
  checkPositiveInteger('iterations', options.iterations);
  checkPositiveInteger('batchSize', options.batchSize);
  checkEvaluator(options.evaluator);
  checkEvery('evalEvery', options.evalEvery);
  checkEvery('checkpointEvery', options.checkpointEvery);
  if (options.outDir !== undefined) expectPath(options.outDir, 'outDir', 'a folder path');
  checkResume(options.resume);
  // Its names now, not at fit(): the group itself is met only then.
  const { distributed } = options;
  if (distributed !== undefined && !(distributed instanceof ProcessGroup)) {
    checkDistributedOptionNames(distributed, 'distributed');
  }
  const keep = expectInteger(
    options.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS,
    'keepCheckpoints',
    0,
  );
  const given = options.schedule ?? { kind: 'multistep' };
  expectObject(given, 'schedule');
  validateSchedule(given);
  const schedule = resolveSchedule(given);
  if (options.lambda !== undefined && options.lambda !== false) {
    expectObject(options.lambda, 'lambda', 'false or a lambda schedule object');
  }
  const lambda = options.lambda === false ? false : { ...DEFAULT_LAMBDA, ...options.lambda };
  if (lambda) validateLambdaSchedule(lambda);
  const optimizer = resolveOptimizer(options.optimizer ?? {});
  if (schedule.kind === 'cosine' && (schedule.minLr ?? 0) > optimizer.lr) {
    throw new RangeError(
      `Expected schedule.minLr <= optimizer.lr (${optimizer.lr}) but received ${schedule.minLr}: the cosine would rise`,
    );
  }
  return {
    totalIterations:
      options.iterations ??
      (options.epochs !== undefined
        ? options.epochs * options.data.batchesPerEpoch
        : PAPER_ITERATIONS),
    optimizer,
    schedule,
    lambda,
    checkpointEvery: options.checkpointEvery ?? (options.outDir ? 1 : undefined),
    keepCheckpoints: keep,
    seed: options.seed === undefined ? 0 : expectInteger(options.seed, 'seed', 0),
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

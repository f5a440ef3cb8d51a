// The flags `sphereface train` and `sphereface demo` share, and their reading into the
// model's and the Trainer's options.
import type { LambdaSchedule } from '../train/lambda-schedule';
import type { Every, OptimizerOptions } from '../train/trainer';
import type { LrSchedule } from '../train/schedule';
import { ARCHS } from '../models/archs';
import { SGD_DEFAULTS } from '../models/defaults';
import type { Arch, DeviceChoice } from '../models/types';
import type { MarginHead } from '../ops/margin-head';
import {
  choiceArg,
  everyArg,
  integerArg,
  integerListArg,
  nonNegativeArg,
  positiveArg,
  stringArg,
} from './args';
import { UsageError, type OptionSpec, type ParsedValues } from './command';

export const trainingOptions: OptionSpec = {
  arch: { type: 'string' },
  head: { type: 'string' },
  m: { type: 'string' },
  scale: { type: 'string' },
  epochs: { type: 'string' },
  iterations: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  nesterov: { type: 'boolean' },
  schedule: { type: 'string' },
  milestones: { type: 'string' },
  gamma: { type: 'string' },
  warmup: { type: 'string' },
  'min-lr': { type: 'string' },
  'lambda-base': { type: 'string' },
  'lambda-gamma': { type: 'string' },
  'lambda-power': { type: 'string' },
  'lambda-min': { type: 'string' },
  'no-lambda': { type: 'boolean' },
  'no-flip': { type: 'boolean' },
  'crop-padding': { type: 'string' },
  'eval-every': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  keep: { type: 'string' },
  out: { type: 'string', short: 'o' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  seed: { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
};

export const trainingUsage = `
Model:      --arch ${ARCHS.join('|')}  --head sphere|cos|arc  --m M  --scale S
Length:     --epochs N | --iterations N     --batch-size N
Optimiser:  --lr 0.1  --momentum ${SGD_DEFAULTS.momentum}  --weight-decay ${SGD_DEFAULTS.weightDecay}  --nesterov
Schedule:   --schedule multistep|cosine|constant  --milestones 16000,24000  --gamma 0.1
            --warmup ITERATIONS  --min-lr LR (cosine)
Lambda:     --lambda-base 1000 --lambda-gamma 0.12 --lambda-power 1 --lambda-min 5 | --no-lambda
Data:       --no-flip (no random horizontal flips)
            --crop-padding P (random crops of the input size from images padded by P pixels)
Run:        --eval-every 2 (epochs) or 500it (iterations)  --checkpoint-every (same form)
            --keep 3 (checkpoints kept)  --out DIR  --resume (from DIR's newest checkpoint)
            --force (a new run in a DIR that holds one; its checkpoints stay)
            --seed 1  --device auto|cpu|cuda  --threads N`;

export interface TrainingConfig {
  arch: Arch;
  head: MarginHead;
  epochs?: number;
  iterations?: number;
  batchSize: number;
  optimizer: Required<OptimizerOptions>;
  schedule: LrSchedule;
  lambda: Partial<LambdaSchedule> | false;
  flip: boolean;
  /** RandomCrop padding in pixels; 0 for no random crops. */
  cropPadding: number;
  evalEvery?: Every;
  checkpointEvery?: Every;
  keep: number;
  out: string;
  resume: boolean;
  /** Start a new run in an `out` that already holds one (never deleting its checkpoints). */
  force: boolean;
  seed: number;
  device: DeviceChoice;
  threads?: number;
}

export interface TrainingDefaults {
  arch: Arch;
  epochs?: number;
  iterations?: number;
  batchSize: number;
  lr: number;
  schedule: LrSchedule['kind'];
  warmup: number;
  evalEvery?: Every;
  out: string;
  /** Lambda decay per iteration (default 0.12, the original's, sized for a 28k-iteration run). */
  lambdaGamma?: number;
  /** Weight decay (default 5e-4, the paper's). */
  weightDecay?: number;
  /** RandomCrop padding (default 0: no random crops). */
  cropPadding?: number;
  /** Start a new run even when `out` holds one (the demo: reruns are expected). */
  force?: boolean;
}

function readHead(values: ParsedValues): MarginHead {
  const kind = choiceArg(values, 'head', ['sphere', 'cos', 'arc'] as const, 'sphere');
  if (kind === 'sphere') {
    const m = integerArg(values, 'm', 1, 4);
    if (m > 6)
      throw new UsageError(`--m for the sphere head expects an integer in 1..6 but received ${m}`);
    if (stringArg(values, 'scale') !== undefined) {
      throw new UsageError('--scale applies to the cos and arc heads; the sphere head keeps ||x||');
    }
    return { kind, m };
  }
  const m = nonNegativeArg(values, 'm', kind === 'cos' ? 0.35 : 0.5);
  const scale = positiveArg(values, 'scale', 64);
  return { kind, m, scale };
}

export function readTrainingArgs(values: ParsedValues, defaults: TrainingDefaults): TrainingConfig {
  const arch = choiceArg(values, 'arch', ARCHS, defaults.arch);
  const head = readHead(values);
  let epochs = integerArg(values, 'epochs', 1);
  let iterations = integerArg(values, 'iterations', 1);
  if (epochs !== undefined && iterations !== undefined) {
    throw new UsageError('give --epochs or --iterations, not both');
  }
  if (epochs === undefined && iterations === undefined) {
    epochs = defaults.epochs;
    iterations = defaults.iterations;
  }
  const kind = choiceArg(
    values,
    'schedule',
    ['multistep', 'cosine', 'constant'] as const,
    defaults.schedule,
  );
  const warmup = integerArg(values, 'warmup', 0, defaults.warmup);
  let schedule: LrSchedule;
  if (kind === 'multistep') {
    const milestones = integerListArg(values, 'milestones');
    if (milestones?.some((m, i) => i > 0 && m <= milestones[i - 1])) {
      throw new UsageError(
        `--milestones expects increasing integers but received ${milestones.join(',')}`,
      );
    }
    const gamma = positiveArg(values, 'gamma', 0.1);
    schedule = { kind, gamma, warmup, ...(milestones ? { milestones } : {}) };
  } else if (kind === 'cosine') {
    schedule = { kind, warmup, minLr: nonNegativeArg(values, 'min-lr', 0) };
  } else {
    schedule = { kind, warmup };
  }
  const lambda: Partial<LambdaSchedule> | false = values['no-lambda']
    ? false
    : {
        base: nonNegativeArg(values, 'lambda-base', 1000),
        gamma: nonNegativeArg(values, 'lambda-gamma', defaults.lambdaGamma ?? 0.12),
        power: nonNegativeArg(values, 'lambda-power', 1),
        min: nonNegativeArg(values, 'lambda-min', 5),
      };
  const threads = integerArg(values, 'threads', 1);
  const seed = integerArg(values, 'seed', 0, 1);
  if (seed > 0xffffffff)
    throw new UsageError(`--seed expects an integer below 2^32 but received ${seed}`);
  return {
    arch,
    head,
    epochs,
    iterations,
    batchSize: integerArg(values, 'batch-size', 1, defaults.batchSize),
    optimizer: {
      lr: positiveArg(values, 'lr', defaults.lr),
      momentum: nonNegativeArg(values, 'momentum', SGD_DEFAULTS.momentum),
      weightDecay: nonNegativeArg(
        values,
        'weight-decay',
        defaults.weightDecay ?? SGD_DEFAULTS.weightDecay,
      ),
      nesterov: values.nesterov === true,
    },
    schedule,
    lambda,
    flip: values['no-flip'] !== true,
    cropPadding: integerArg(values, 'crop-padding', 0, defaults.cropPadding ?? 0),
    evalEvery: everyArg(values, 'eval-every') ?? defaults.evalEvery,
    checkpointEvery: everyArg(values, 'checkpoint-every'),
    keep: integerArg(values, 'keep', 0, 3),
    out: stringArg(values, 'out') ?? defaults.out,
    resume: values.resume === true,
    force: values.force === true || defaults.force === true,
    seed,
    device: choiceArg(values, 'device', ['auto', 'cpu', 'cuda'] as const, 'auto'),
    ...(threads !== undefined ? { threads } : {}),
  };
}

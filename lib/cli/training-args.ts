// The flags `sphereface train` and `sphereface demo` share, and their reading into the
// model's and the Trainer's options.
import { HEAD_DEFAULTS, HEAD_KINDS, validateMarginHead } from '../ops/margin-head';
import { DEFAULT_LAMBDA, type LambdaSchedule } from '../train/lambda-schedule';
import { DEFAULT_KEEP_CHECKPOINTS } from '../train/trainer-options';
import { DEVICES, MAX_EMBEDDING_DIM } from '../models/validate';
import { MAX_BATCH_SIZE } from '../data/data-loader';
import { MAX_THREADS } from '../util/expect';
import { info } from '../info';
import type { Every, OptimizerOptions } from '../train/trainer';
import { PAPER_GAMMA, PAPER_MILESTONES, resolveSchedule, type LrSchedule } from '../train/schedule';
import { ARCHS } from '../models/archs';
import { EMBEDDING_DIM, SGD_DEFAULTS } from '../models/defaults';
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
import { checkAsUsage, UsageError, type Options, type ParsedValues } from './command';

const DEFAULT_SEED = 1;
const MARGIN_KINDS = ['sphere', 'cos', 'arc'] as const;

/** The margin head's flags (train, demo, import). */
export const headOptions: Options = {
  head: {
    type: 'string',
    value: HEAD_KINDS.join('|'),
    description: 'the margin: A-Softmax, CosFace, ArcFace, or none (plain softmax)',
    default: 'sphere',
  },
  m: {
    type: 'string',
    value: 'M',
    description: 'the margin (sphere: integer 1..6)',
    default: MARGIN_KINDS.map((k) => `${k} ${HEAD_DEFAULTS[k].m}`).join(', '),
  },
  scale: {
    type: 'string',
    value: 'S',
    description: "the cos and arc heads' scale",
    default: HEAD_DEFAULTS.cos.scale,
  },
  'easy-margin': {
    type: 'boolean',
    description: "arc: the margin only where the target's cosine is positive (insightface's)",
  },
};

/** The training flags with their help lines; defaults from `d` and the library's own. */
export function trainingOptions(d: TrainingDefaults): Options {
  const every = (what: string) =>
    `${what}: every N epochs, or every N iterations written Nit (e.g. 500it)`;
  return {
    arch: { type: 'string', value: ARCHS.join('|'), description: 'the network', default: d.arch },
    ...headOptions,
    'embedding-dim': {
      type: 'string',
      value: 'D',
      description: "the net's embedding size",
      default: EMBEDDING_DIM,
    },
    epochs: {
      type: 'string',
      value: 'N',
      description: 'train this many epochs (or --iterations)',
      default: d.epochs,
    },
    iterations: {
      type: 'string',
      value: 'N',
      description: 'train this many steps (or --epochs)',
      default: d.iterations,
    },
    'batch-size': {
      type: 'string',
      value: 'N',
      description: 'images per step',
      default: d.batchSize,
    },
    lr: { type: 'string', value: 'LR', description: 'the base learning rate', default: d.lr },
    momentum: {
      type: 'string',
      value: 'M',
      description: 'SGD momentum',
      default: SGD_DEFAULTS.momentum,
    },
    'weight-decay': {
      type: 'string',
      value: 'W',
      description: 'SGD weight decay (conv, fc and head weights)',
      default: d.weightDecay ?? SGD_DEFAULTS.weightDecay,
    },
    nesterov: { type: 'boolean', description: 'Nesterov momentum' },
    schedule: {
      type: 'string',
      value: 'multistep|cosine|constant',
      description: 'the learning-rate schedule',
      default: d.schedule,
    },
    milestones: {
      type: 'string',
      value: 'I,J,...',
      description: 'multistep: iterations where lr is multiplied by --gamma',
      default: PAPER_MILESTONES.join(','),
    },
    gamma: {
      type: 'string',
      value: 'G',
      description: 'multistep: the factor',
      default: PAPER_GAMMA,
    },
    warmup: {
      type: 'string',
      value: 'N',
      description: 'the first N steps ramp the lr up linearly',
      default: d.warmup,
    },
    'min-lr': { type: 'string', value: 'LR', description: 'cosine: the final lr', default: 0 },
    'lambda-base': {
      type: 'string',
      value: 'B',
      description: 'A-Softmax lambda = max(min, base (1 + gamma i)^-power)',
      default: DEFAULT_LAMBDA.base,
    },
    'lambda-gamma': {
      type: 'string',
      value: 'G',
      description: 'lambda decay per iteration',
      default: d.lambdaGamma ?? DEFAULT_LAMBDA.gamma,
    },
    'lambda-power': {
      type: 'string',
      value: 'P',
      description: 'lambda decay power',
      default: DEFAULT_LAMBDA.power,
    },
    'lambda-min': {
      type: 'string',
      value: 'M',
      description: 'lambda floor',
      default: DEFAULT_LAMBDA.min,
    },
    'no-lambda': {
      type: 'boolean',
      description: 'no lambda annealing (the full margin from step 1)',
    },
    'no-flip': { type: 'boolean', description: 'no random horizontal flips' },
    'crop-padding': {
      type: 'string',
      value: 'P',
      description: 'random crops of the input size from images padded by P black pixels',
      default: d.cropPadding ?? 0,
    },
    'eval-every': {
      type: 'string',
      value: 'N|Nit',
      description: every('evaluate the held-out pairs'),
      default: d.evalEvery === undefined ? 'at the end' : String(d.evalEvery),
    },
    'checkpoint-every': {
      type: 'string',
      value: 'N|Nit',
      description: every('write a checkpoint'),
      default: 1,
    },
    keep: {
      type: 'string',
      value: 'N',
      description: 'checkpoints of this run kept (0: all)',
      default: DEFAULT_KEEP_CHECKPOINTS,
    },
    out: {
      type: 'string',
      short: 'o',
      value: 'DIR',
      description: 'metrics.jsonl, checkpoints/, summary.json, report.md, plots/',
      default: d.out,
    },
    resume: { type: 'boolean', description: 'continue from the newest checkpoint in --out' },
    force: {
      type: 'boolean',
      description: 'start a new run in an --out that holds one (its checkpoints are kept)',
    },
    seed: {
      type: 'string',
      value: 'S',
      description: 'initialisation, order and augmentation',
      default: DEFAULT_SEED,
    },
    device: {
      type: 'string',
      value: DEVICES.join('|'),
      description: 'where to train',
      default: 'auto',
    },
    threads: {
      type: 'string',
      value: 'N',
      description: 'libtorch threads',
      default: 'the cores available',
    },
  };
}

export interface TrainingConfig {
  arch: Arch;
  head: MarginHead;
  embeddingDim: number;
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

/** A model's settings that the flags also set: a resume's defaults are its checkpoint's. */
export interface ModelSettings {
  arch: Arch;
  head: MarginHead;
  embeddingDim: number;
}

/**
 * What a resumed run's checkpoint records: the model's settings, which a flag may not
 * contradict, and the run's, which a flag may change; both stand where no flag is given.
 */
export interface ResumedSettings extends ModelSettings {
  iterations: number;
  /** Absent in checkpoints written before it was recorded. */
  batchSize?: number;
  optimizer: Required<OptimizerOptions>;
  schedule: LrSchedule;
  lambda: LambdaSchedule | false;
  seed: number;
  /** The loader's, where the checkpoint records them. */
  flip?: boolean;
  cropPadding?: number;
}

/** The head the flags give; the flags not given keep `base`'s values when it is of that kind. */
export function readHead(values: ParsedValues, base: MarginHead | undefined): MarginHead {
  const kind = choiceArg(values, 'head', HEAD_KINDS, base?.kind ?? 'sphere');
  // The flags the head's kind does not set keep the base's values, when it is of that kind.
  const same = base?.kind === kind ? base : undefined;
  const easyMargin =
    values['easy-margin'] === true || (same?.kind === 'arc' && same.easyMargin === true);
  if (values['easy-margin'] === true && kind !== 'arc') {
    throw new UsageError(`--easy-margin applies to the arc head, not ${kind}`);
  }
  if (kind === 'softmax') {
    for (const flag of ['m', 'scale']) {
      if (stringArg(values, flag) !== undefined) {
        throw new UsageError(`--${flag} does not apply to the softmax head, which has no margin`);
      }
    }
    return { kind };
  }
  if (kind === 'sphere') {
    const m = integerArg(values, 'm', 1, same?.kind === 'sphere' ? same.m : HEAD_DEFAULTS.sphere.m);
    if (m > 6)
      throw new UsageError(`--m for the sphere head expects an integer in 1..6 but received ${m}`);
    if (stringArg(values, 'scale') !== undefined) {
      throw new UsageError('--scale applies to the cos and arc heads; the sphere head keeps ||x||');
    }
    return { kind, m };
  }
  const fallback = same?.kind === 'cos' || same?.kind === 'arc' ? same : HEAD_DEFAULTS[kind];
  const m = nonNegativeArg(values, 'm', fallback.m);
  const scale = positiveArg(values, 'scale', fallback.scale);
  const head: MarginHead =
    kind === 'arc' && easyMargin ? { kind, m, scale, easyMargin: true } : { kind, m, scale };
  // The head's own ranges (ops/margin-head.ts), as a usage error before any data is read.
  checkAsUsage(
    () => validateMarginHead(head),
    (message) => message.replace(/ for head\.(\w+)/, ' for --$1'),
  );
  return head;
}

const LAMBDA_FLAGS = ['lambda-base', 'lambda-gamma', 'lambda-power', 'lambda-min'];

// Flags that mean something only with another setting are refused without it, not ignored.
function refuseIgnoredFlags(
  values: ParsedValues,
  schedule: LrSchedule['kind'],
  head: MarginHead['kind'],
): void {
  const onlyWith: [string[], boolean, string][] = [
    [
      [...LAMBDA_FLAGS, 'no-lambda'],
      head === 'sphere',
      `the sphere head's lambda annealing; the ${head} head has none`,
    ],
    [['milestones', 'gamma'], schedule === 'multistep', 'the multistep schedule'],
    [['min-lr'], schedule === 'cosine', 'the cosine schedule'],
    [LAMBDA_FLAGS, values['no-lambda'] !== true, 'lambda annealing, which --no-lambda turns off'],
  ];
  for (const [flags, applies, what] of onlyWith) {
    const given = flags.find((flag) => values[flag] !== undefined);
    if (!applies && given) throw new UsageError(`--${given} applies to ${what}`);
  }
  if (values.resume === true && values.force === true) {
    throw new UsageError(
      'give --resume (continue the run) or --force (a new run beside it), not both',
    );
  }
}

/** The lambda schedule the flags give; those not given keep the resumed run's (or its `false`). */
function readLambda(
  values: ParsedValues,
  defaults: TrainingDefaults,
  resumed: LambdaSchedule | false | undefined,
): Partial<LambdaSchedule> | false {
  const given = LAMBDA_FLAGS.some((flag) => values[flag] !== undefined);
  if (values['no-lambda'] || (resumed === false && !given)) return false;
  const base = resumed || undefined;
  return {
    base: nonNegativeArg(values, 'lambda-base', base?.base ?? DEFAULT_LAMBDA.base),
    gamma: nonNegativeArg(
      values,
      'lambda-gamma',
      base?.gamma ?? defaults.lambdaGamma ?? DEFAULT_LAMBDA.gamma,
    ),
    power: nonNegativeArg(values, 'lambda-power', base?.power ?? DEFAULT_LAMBDA.power),
    min: nonNegativeArg(values, 'lambda-min', base?.min ?? DEFAULT_LAMBDA.min),
  };
}

/**
 * The flags as a TrainingConfig. With `resumed` (a resume: its checkpoint's settings), the
 * settings that no flag gives are the checkpoint's rather than the defaults.
 */
export function readTrainingArgs(
  values: ParsedValues,
  defaults: TrainingDefaults,
  resumed?: ResumedSettings,
): TrainingConfig {
  const arch = choiceArg(values, 'arch', ARCHS, resumed?.arch ?? defaults.arch);
  const head = readHead(values, resumed?.head);
  let epochs = integerArg(values, 'epochs', 1);
  let iterations = integerArg(values, 'iterations', 1);
  if (epochs !== undefined && iterations !== undefined) {
    throw new UsageError('give --epochs or --iterations, not both');
  }
  if (epochs === undefined && iterations === undefined) {
    epochs = resumed ? undefined : defaults.epochs;
    iterations = resumed ? resumed.iterations : defaults.iterations;
  }
  const kind = choiceArg(
    values,
    'schedule',
    ['multistep', 'cosine', 'constant'] as const,
    resumed?.schedule.kind ?? defaults.schedule,
  );
  refuseIgnoredFlags(values, kind, head.kind);
  // The resumed schedule's fields, where the flags keep its kind.
  const before = resumed && resolveSchedule(resumed.schedule);
  const warmup = integerArg(values, 'warmup', 0, before?.warmup ?? defaults.warmup);
  const lr = positiveArg(values, 'lr', resumed?.optimizer.lr ?? defaults.lr);
  const momentum = nonNegativeArg(
    values,
    'momentum',
    resumed?.optimizer.momentum ?? SGD_DEFAULTS.momentum,
  );
  if (momentum >= 1) {
    throw new UsageError(`--momentum expects a number in [0, 1) but received ${momentum}`);
  }
  let schedule: LrSchedule;
  if (kind === 'multistep') {
    const milestones =
      integerListArg(values, 'milestones') ??
      (before?.kind === 'multistep' ? before.milestones : undefined);
    if (milestones?.some((m, i) => i > 0 && m <= milestones[i - 1])) {
      throw new UsageError(
        `--milestones expects increasing integers but received ${milestones.join(',')}`,
      );
    }
    const gamma = positiveArg(
      values,
      'gamma',
      before?.kind === 'multistep' ? before.gamma : PAPER_GAMMA,
    );
    schedule = resolveSchedule({ kind, gamma, warmup, milestones });
  } else if (kind === 'cosine') {
    const minLr = nonNegativeArg(values, 'min-lr', before?.kind === 'cosine' ? before.minLr : 0);
    if (minLr > lr) {
      throw new UsageError(`--min-lr ${minLr} is above --lr ${lr}: the cosine would rise`);
    }
    schedule = { kind, warmup, minLr };
  } else {
    schedule = { kind, warmup };
  }
  const lambda = readLambda(values, defaults, resumed?.lambda);
  const threads = integerArg(values, 'threads', 1, undefined, MAX_THREADS);
  const seed = integerArg(values, 'seed', 0, resumed?.seed ?? DEFAULT_SEED);
  const device = choiceArg(values, 'device', DEVICES, 'auto');
  // Before any data is read: a run that cannot start should not decode its set first.
  if (device === 'cuda' && !info().cuda.available) {
    throw new UsageError(
      "--device cuda: this libtorch has no CUDA support or no GPU is visible; use 'cpu' or 'auto'",
    );
  }
  if (seed > 0xffffffff)
    throw new UsageError(`--seed expects an integer below 2^32 but received ${seed}`);
  return {
    arch,
    head,
    embeddingDim: integerArg(
      values,
      'embedding-dim',
      1,
      resumed?.embeddingDim ?? EMBEDDING_DIM,
      MAX_EMBEDDING_DIM,
    ),
    epochs,
    iterations,
    batchSize: integerArg(
      values,
      'batch-size',
      1,
      resumed?.batchSize ?? defaults.batchSize,
      MAX_BATCH_SIZE,
    ),
    optimizer: {
      lr,
      momentum,
      weightDecay: nonNegativeArg(
        values,
        'weight-decay',
        resumed?.optimizer.weightDecay ?? defaults.weightDecay ?? SGD_DEFAULTS.weightDecay,
      ),
      nesterov: values.nesterov === true || resumed?.optimizer.nesterov === true,
    },
    schedule,
    lambda,
    flip: values['no-flip'] !== true && resumed?.flip !== false,
    cropPadding: integerArg(
      values,
      'crop-padding',
      0,
      resumed?.cropPadding ?? defaults.cropPadding ?? 0,
    ),
    evalEvery: everyArg(values, 'eval-every') ?? defaults.evalEvery,
    checkpointEvery: everyArg(values, 'checkpoint-every'),
    keep: integerArg(values, 'keep', 0, DEFAULT_KEEP_CHECKPOINTS),
    out: stringArg(values, 'out') ?? defaults.out,
    resume: values.resume === true,
    force: values.force === true || defaults.force === true,
    seed,
    device,
    ...(threads !== undefined ? { threads } : {}),
  };
}

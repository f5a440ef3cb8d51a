// Argument checks for the model API, run before anything native: each error names the argument
// and what was received ("Expected positive integer for n but received 0 of type number"). The
// checked options come back complete, defaults filled in here: the native code has none.
import { randomInt } from 'node:crypto';
import * as os from 'node:os';
import { toNativeHead, validateMarginHead } from '../ops/margin-head';
import type { MarginHead } from '../ops/margin-head';
import type { NativeMarginHead } from '../native/loss-binding';
import { expectFinite, expectInteger, fail } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { ARCHS, inputSizeOf } from './archs';
import { EMBEDDING_DIM, NORMALISATION, SGD_DEFAULTS } from './defaults';
import type { NativeModelConfig, NativeStepOptions } from '../native/model-binding';
import type { Arch, DeviceChoice, ModelOptions, TrainStepInput } from './types';

export const DEVICES: readonly DeviceChoice[] = ['auto', 'cpu', 'cuda'];

// Far beyond any face embedding (512 is usual): a typo's size is refused before it allocates.
export const MAX_EMBEDDING_DIM = 65536;

// Seeds drawn when the user gives none lie below this bound (randomInt's widest range).
const RANDOM_SEED_LIMIT = 2 ** 48 - 1;

export function expectArch(value: unknown, name = 'arch'): Arch {
  if (typeof value !== 'string' || !(ARCHS as readonly string[]).includes(value)) {
    fail(`one of ${ARCHS.join(', ')}`, name, value);
  }
  return value as Arch;
}

export function expectDevice(value: unknown, name = 'device'): DeviceChoice {
  if (value === undefined) return 'auto';
  if (typeof value !== 'string' || !(DEVICES as readonly string[]).includes(value)) {
    fail(`one of ${DEVICES.join(', ')}`, name, value);
  }
  return value as DeviceChoice;
}

/** The op's own check (lib/ops/margin-head.ts), then its native form (defaults filled in). */
function expectHead(value: unknown): NativeMarginHead {
  validateMarginHead(value as MarginHead);
  return toNativeHead(value as MarginHead);
}

export const MODEL_OPTION_KEYS: OptionKeys<ModelOptions> = {
  arch: true,
  classes: true,
  head: true,
  embeddingDim: true,
  device: true,
  seed: true,
  mean: true,
  std: true,
};

/** The head's fields, given at the top. */
const MODEL_ELSEWHERE: Record<string, string> = {
  m: 'head.m',
  margin: 'head.m',
  scale: 'head.scale',
  s: 'head.scale',
  lambda: 'head.lambda',
  easyMargin: 'head.easyMargin',
};

/**
 * Refuses a head that host memory cannot train: classes x embeddingDim float32 weights, with
 * their gradient and momentum. A mistyped class count would otherwise fill memory for minutes
 * before failing. An explicit 'cuda' model keeps them in GPU memory, which libtorch checks.
 */
export function checkHeadSize(
  classes: number,
  embeddingDim: number,
  device: DeviceChoice,
  memory = os.totalmem(),
): void {
  const training = 3 * classes * embeddingDim * 4;
  if (device === 'cuda' || training <= memory) return;
  const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;
  throw new RangeError(
    `classes ${classes} x embeddingDim ${embeddingDim} makes a head of ` +
      `${gb(training / 3)}, ${gb(training)} to train with its gradient and momentum, over the ` +
      `${gb(memory)} of this machine's memory`,
  );
}

/** Checked model options, complete: what the native initialise takes. */
export function expectModelOptions(options: ModelOptions): NativeModelConfig {
  expectOptions(options, 'options', MODEL_OPTION_KEYS, undefined, MODEL_ELSEWHERE);
  const std = options.std === undefined ? NORMALISATION.std : expectFinite(options.std, 'std');
  if (!(std > 0)) fail('a positive number', 'std', std, RangeError);
  const classes = expectInteger(options.classes, 'classes', 2, 2 ** 31 - 1);
  const embeddingDim =
    options.embeddingDim === undefined
      ? EMBEDDING_DIM
      : expectInteger(options.embeddingDim, 'embeddingDim', 1, MAX_EMBEDDING_DIM);
  const device = expectDevice(options.device);
  checkHeadSize(classes, embeddingDim, device);
  return {
    arch: expectArch(options.arch),
    classes,
    embeddingDim,
    head: expectHead(options.head),
    device,
    seed:
      options.seed === undefined
        ? randomInt(RANDOM_SEED_LIMIT)
        : expectInteger(options.seed, 'seed', 0),
    mean: options.mean === undefined ? NORMALISATION.mean : expectFinite(options.mean, 'mean'),
    std,
  };
}

/** Checks images against n and the arch's input size, naming the expected height and width. */
export function expectImages(images: unknown, n: unknown, arch: Arch): number {
  if (!(images instanceof Uint8Array)) fail('a Uint8Array (n x H x W x 3, RGB)', 'images', images);
  const count = expectInteger(n, 'n', 1);
  const { height, width } = inputSizeOf(arch);
  const expected = height * width * 3;
  if (images.length !== count * expected) {
    // Whole images of the net's size: n is what is wrong.
    if (images.length % expected === 0) {
      throw new RangeError(
        `n is ${count} but images holds ${images.length / expected} image(s) of ${arch}'s ` +
          `height ${height} x width ${width} x 3 = ${expected} bytes (${images.length} bytes)`,
      );
    }
    const perImage = images.length / count;
    const side = Math.sqrt(perImage / 3);
    const looks = Number.isInteger(side) ? ` (${side} x ${side} x 3 per image?)` : '';
    throw new RangeError(
      `images holds ${images.length} bytes, ${perImage} per image for n = ${count}${looks}, but ` +
        `${arch} takes height ${height} x width ${width} x 3 = ${expected} bytes per image`,
    );
  }
  return count;
}

export function expectFlip(flip: unknown, n: number): Uint8Array | null {
  if (flip === undefined || flip === null) return null;
  if (!(flip instanceof Uint8Array)) fail('a Uint8Array (one byte per image)', 'flip', flip);
  if (flip.length !== n) {
    throw new RangeError(`Expected flip to hold n = ${n} bytes but it holds ${flip.length}`);
  }
  return flip;
}

export function expectLabels(labels: unknown, n: number, classes: number): Int32Array {
  if (!(labels instanceof Int32Array)) fail('an Int32Array', 'labels', labels);
  if (labels.length !== n) {
    throw new RangeError(`Expected labels to hold n = ${n} entries but it holds ${labels.length}`);
  }
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw new RangeError(
        `labels[${i}] = ${labels[i]} is outside 0..${classes - 1} (classes = ${classes})`,
      );
    }
  }
  return labels;
}

type StepInput = TrainStepInput & { decayAll?: boolean; timings?: boolean };

const STEP_INPUT_KEYS: OptionKeys<StepInput> = {
  images: true,
  labels: true,
  n: true,
  lr: true,
  lambda: true,
  flip: true,
  momentum: true,
  weightDecay: true,
  nesterov: true,
  decayAll: true,
  timings: true,
};

/**
 * Checked step options, complete: what the native trainStep takes. `headLambda` is the model's
 * own lambda, the default for a step that gives none.
 */
export function expectStepInput(input: StepInput, headLambda: number): NativeStepOptions {
  expectOptions(input, 'input', STEP_INPUT_KEYS, 'a trainStep input object');
  const optional = (value: number | undefined, name: string, fallback: number): number =>
    value === undefined ? fallback : expectFinite(value, name, 0);
  const flag = (value: unknown, name: string): boolean => {
    if (value !== undefined && typeof value !== 'boolean') fail('a boolean', name, value);
    return value === true;
  };
  return {
    lr: expectFinite(input.lr, 'lr', 0),
    lambda: optional(input.lambda, 'lambda', headLambda),
    momentum: optional(input.momentum, 'momentum', SGD_DEFAULTS.momentum),
    weightDecay: optional(input.weightDecay, 'weightDecay', SGD_DEFAULTS.weightDecay),
    nesterov:
      input.nesterov === undefined ? SGD_DEFAULTS.nesterov : flag(input.nesterov, 'nesterov'),
    decayAll: flag(input.decayAll, 'decayAll'),
    timings: flag(input.timings, 'timings'),
  };
}

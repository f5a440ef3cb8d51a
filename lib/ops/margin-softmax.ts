// The fused margin-softmax loss on the caller's own embeddings: validation here, the maths in
// native/ops (one GEMM + one pass per row forward, analytic backward).
import { nativeAsync } from '../native';
import { expectInteger } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import type { NativeMarginSoftmaxInput } from '../native/loss-binding';
import { type MarginHead, toNativeHead, validateMarginHead } from './margin-head';

type FloatArray = Float32Array | Float64Array;

export interface MarginSoftmaxInput<A extends FloatArray = Float32Array> {
  /** batch x dim, row-major. */
  features: A;
  /** classes x dim, row-major (not yet normalised: the op normalises the rows, but softmax's). */
  weight: A;
  /** One per class: the softmax head's bias (required there, refused by the other heads). */
  bias?: A;
  /** batch labels in [0, classes). */
  labels: Int32Array;
  dim: number;
  head: MarginHead;
}

const INPUT_KEYS: OptionKeys<MarginSoftmaxInput> = {
  features: true,
  weight: true,
  bias: true,
  labels: true,
  dim: true,
  head: true,
};

export interface MarginSoftmaxResult<A extends FloatArray = Float32Array> {
  /** Mean cross-entropy over the batch. */
  loss: number;
  /** d loss / d features, batch x dim. */
  gradFeatures: A;
  /** d loss / d weight, classes x dim. */
  gradWeight: A;
  /** d loss / d bias, for the softmax head. */
  gradBias?: A;
  /** Share of rows whose largest plain cosine (softmax: largest logit) is the label's. */
  accuracy: number;
}

/**
 * The SphereFace / CosFace / ArcFace / softmax loss, its gradients and the accuracy for one batch. Runs off
 * the event loop, reading features, weight and bias where they are: leave them unchanged until
 * the Promise settles. Float64Array inputs run the same op in double precision. Rejects with a
 * RangeError when the rows are too long for that precision (the product of the longest feature
 * and weight norms beyond its largest value), or the loss or gradients overflow all the same.
 */
export function marginSoftmaxLoss(
  input: MarginSoftmaxInput<Float32Array>,
): Promise<MarginSoftmaxResult<Float32Array>>;
export function marginSoftmaxLoss(
  input: MarginSoftmaxInput<Float64Array>,
): Promise<MarginSoftmaxResult<Float64Array>>;
export function marginSoftmaxLoss<A extends FloatArray>(
  input: MarginSoftmaxInput<A>,
): Promise<MarginSoftmaxResult<A>> {
  return marginSoftmaxLossOn(input, 'cpu');
}

/** As marginSoftmaxLoss, on a chosen device (internal: the CUDA tests compare devices). */
export async function marginSoftmaxLossOn<A extends FloatArray>(
  input: MarginSoftmaxInput<A>,
  device: 'cpu' | 'cuda',
): Promise<MarginSoftmaxResult<A>> {
  const checked = checkInput(input, device);
  const { gradBias, ...result } = await (await nativeAsync()).marginSoftmaxLoss<A>(checked);
  return gradBias === null ? result : { ...result, gradBias };
}

function checkInput<A extends FloatArray>(
  input: MarginSoftmaxInput<A>,
  device: 'cpu' | 'cuda',
): NativeMarginSoftmaxInput<A> {
  expectOptions(input, 'input', INPUT_KEYS, 'an input object ({ features, weight, labels, ... })');
  const { features, weight, bias, labels, dim, head } = input;
  if (!(features instanceof Float32Array || features instanceof Float64Array)) {
    throw new TypeError(`Expected Float32Array for features but received ${typeName(features)}`);
  }
  if (!(weight instanceof features.constructor)) {
    throw new TypeError(
      `Expected ${features.constructor.name} for weight (as features) but received ${typeName(weight)}`,
    );
  }
  if (!(labels instanceof Int32Array)) {
    throw new TypeError(`Expected Int32Array for labels but received ${typeName(labels)}`);
  }
  expectInteger(dim, 'dim', 1);
  validateMarginHead(head, 'head');
  if (features.length === 0 || labels.length === 0) {
    throw new RangeError('Expected a non-empty batch but features and labels are empty');
  }
  if (features.length % dim !== 0) {
    throw new RangeError(
      `Expected features.length to be a multiple of dim ${dim} but received ${features.length}`,
    );
  }
  if (weight.length === 0 || weight.length % dim !== 0) {
    throw new RangeError(
      `Expected weight.length to be a positive multiple of dim ${dim} but received ${weight.length}`,
    );
  }
  const batch = features.length / dim;
  const classes = weight.length / dim;
  if (labels.length !== batch) {
    throw new RangeError(
      `Expected ${batch} labels (features.length / dim) but received ${labels.length}`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw new RangeError(
        `Expected labels[${i}] in [0, ${classes}) (classes = weight.length / dim) but received ${labels[i]}`,
      );
    }
  }
  const softmax = head.kind === 'softmax';
  if (softmax !== (bias !== undefined)) {
    throw new TypeError(
      softmax
        ? `Expected a ${features.constructor.name} of ${classes} values for bias (the softmax head's) but received none`
        : `Expected no bias for the ${head.kind} head (only softmax has one) but received ${typeName(bias)}`,
    );
  }
  if (bias !== undefined) {
    if (!(bias instanceof features.constructor)) {
      throw new TypeError(
        `Expected ${features.constructor.name} for bias (as features) but received ${typeName(bias)}`,
      );
    }
    if (bias.length !== classes) {
      throw new RangeError(
        `Expected ${classes} values for bias (classes = weight.length / dim) but received ${bias.length}`,
      );
    }
  }
  // NaN and infinities in features, weight and bias are found natively, in the op's first pass.
  return { features, weight, bias: bias ?? null, labels, dim, head: toNativeHead(head), device };
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

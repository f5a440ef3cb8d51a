// SphereFace's lambda annealing (margin_inner_product_layer in the original Caffe code): the
// target logit starts as mostly plain softmax (lambda large) and the angular margin takes over
// as lambda decays. Without it A-Softmax with m = 4 usually stalls at ln(classes) or diverges.
import type { MarginHead } from '../ops/margin-head';
import { expectInteger } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';

export interface LambdaSchedule {
  base: number; // 1000
  gamma: number; // 0.12
  power: number; // 1
  min: number; // 5
}

/** The original implementation's values. */
export const DEFAULT_LAMBDA: Readonly<LambdaSchedule> = {
  base: 1000,
  gamma: 0.12,
  power: 1,
  min: 5,
};

/**
 * lambda = max(min, base * (1 + gamma * step)^(-power)) for the step numbered `step` from 1: the
 * original layer counts a step before it computes lambda, so its first step runs at
 * base / (1 + gamma), 892.86 by default.
 */
export function lambdaAt(schedule: LambdaSchedule, step: number): number {
  validateLambdaSchedule(schedule);
  expectInteger(step, 'step', 1);
  return Math.max(schedule.min, schedule.base * (1 + schedule.gamma * step) ** -schedule.power);
}

/**
 * The lambda of the step after `iteration` steps: annealed for the sphere head, undefined (not
 * used) for cos and arc, or `false` in the options to switch annealing off (the head's own
 * lambda, default 0).
 */
export function stepLambda(
  head: MarginHead,
  schedule: LambdaSchedule | false,
  iteration: number,
): number | undefined {
  if (head.kind !== 'sphere') return undefined;
  if (schedule === false) return head.lambda ?? 0;
  return lambdaAt(schedule, iteration + 1);
}

const LAMBDA_KEYS: OptionKeys<LambdaSchedule> = { base: true, gamma: true, power: true, min: true };

export function validateLambdaSchedule(schedule: LambdaSchedule): void {
  expectOptions(schedule, 'lambda', LAMBDA_KEYS, 'a lambda schedule object');
  for (const key of ['base', 'gamma', 'power', 'min'] as const) {
    const value = schedule[key];
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RangeError(
        `Expected a non-negative finite number for lambda.${key} but received ${value}`,
      );
    }
  }
}

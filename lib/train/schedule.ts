// Learning-rate schedules as pure functions of the iteration: a resumed run needs nothing but
// the iteration count to continue the schedule exactly.

import { expectFinite, expectInteger, expectObject } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';

/** The SphereFace paper's schedule: lr 0.1, divided by 10 at 16k and 24k iterations, stop at 28k. */
export const PAPER_LR = 0.1;
export const PAPER_MILESTONES: readonly number[] = [16000, 24000];
export const PAPER_ITERATIONS = 28000;
/** multistep's factor at each milestone. */
export const PAPER_GAMMA = 0.1;

export type LrSchedule =
  /** lr * gamma^(number of milestones <= iteration), as Caffe's "multistep" policy. */
  | { kind: 'multistep'; milestones?: readonly number[]; gamma?: number; warmup?: number }
  /** Half a cosine from lr down to minLr over the iterations after the warm-up. */
  | { kind: 'cosine'; minLr?: number; warmup?: number }
  | { kind: 'constant'; warmup?: number };

/**
 * The learning rate of the step that runs after `iteration` steps (0-based).
 * `warmup` (iterations, default 0) scales any schedule by (iteration + 1) / warmup while
 * iteration < warmup, so the first step is never taken at lr 0.
 */
export function learningRate(
  schedule: LrSchedule,
  baseLr: number,
  iteration: number,
  totalIterations: number,
): number {
  validateSchedule(schedule);
  expectFinite(baseLr, 'baseLr');
  expectInteger(iteration, 'iteration', 0);
  expectInteger(totalIterations, 'totalIterations', 1);
  const warmup = schedule.warmup ?? 0;
  const warm = iteration < warmup ? (iteration + 1) / warmup : 1;
  switch (schedule.kind) {
    case 'constant':
      return baseLr * warm;
    case 'multistep': {
      const milestones = schedule.milestones ?? PAPER_MILESTONES;
      const gamma = schedule.gamma ?? PAPER_GAMMA;
      const passed = milestones.filter((m) => iteration >= m).length;
      return baseLr * gamma ** passed * warm;
    }
    case 'cosine': {
      const minLr = schedule.minLr ?? 0;
      if (iteration < warmup) return baseLr * warm;
      const span = Math.max(1, totalIterations - warmup);
      const t = Math.min(1, (iteration - warmup) / span);
      return minLr + ((baseLr - minLr) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}

// Required of each kind in the union, not of the union as a whole.
type EachRequired<S> = S extends unknown ? Required<S> : never;

/** A schedule with every field of its kind given. */
export type ResolvedSchedule = EachRequired<LrSchedule>;

/** The schedule with its defaults filled in: what a run records, so that a reader needs none. */
export function resolveSchedule(schedule: LrSchedule): ResolvedSchedule {
  const warmup = schedule.warmup ?? 0;
  switch (schedule.kind) {
    case 'multistep':
      return {
        kind: 'multistep',
        milestones: [...(schedule.milestones ?? PAPER_MILESTONES)],
        gamma: schedule.gamma ?? PAPER_GAMMA,
        warmup,
      };
    case 'cosine':
      return { kind: 'cosine', minLr: schedule.minLr ?? 0, warmup };
    case 'constant':
      return { kind: 'constant', warmup };
  }
}

type ScheduleKind = LrSchedule['kind'];

/** Each kind's fields. */
const SCHEDULE_KEYS: { [K in ScheduleKind]: OptionKeys<Extract<LrSchedule, { kind: K }>> } = {
  multistep: { kind: true, milestones: true, gamma: true, warmup: true },
  cosine: { kind: true, minLr: true, warmup: true },
  constant: { kind: true, warmup: true },
};

/** Checks a schedule's fields, naming the bad one. */
export function validateSchedule(schedule: LrSchedule): void {
  expectObject(schedule, 'schedule', 'a schedule object ({ kind, ... })');
  if (!Object.hasOwn(SCHEDULE_KEYS, schedule.kind)) {
    const kinds = Object.keys(SCHEDULE_KEYS).join(', ');
    throw new RangeError(
      `Expected schedule.kind to be one of ${kinds} but received ${String(schedule.kind)}`,
    );
  }
  expectOptions<LrSchedule>(
    schedule,
    `schedule of kind '${schedule.kind}'`,
    SCHEDULE_KEYS[schedule.kind],
  );
  const warmup = schedule.warmup ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new RangeError(
      `Expected a non-negative integer for schedule.warmup but received ${warmup}`,
    );
  }
  if (schedule.kind === 'multistep') {
    const milestones = schedule.milestones ?? PAPER_MILESTONES;
    milestones.forEach((m, i) => {
      if (!Number.isInteger(m) || m < 0 || (i > 0 && m <= milestones[i - 1])) {
        throw new RangeError(
          `Expected schedule.milestones to be increasing non-negative integers but received ${milestones.join(',')}`,
        );
      }
    });
    const gamma = schedule.gamma ?? PAPER_GAMMA;
    if (!(gamma > 0 && gamma <= 1)) {
      throw new RangeError(`Expected schedule.gamma in (0, 1] but received ${gamma}`);
    }
  }
  if (schedule.kind === 'cosine') {
    const minLr = schedule.minLr ?? 0;
    if (!(Number.isFinite(minLr) && minLr >= 0)) {
      throw new RangeError(
        `Expected a non-negative number for schedule.minLr but received ${minLr}`,
      );
    }
  }
}

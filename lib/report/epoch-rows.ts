// From a training run's records (the Trainer's history, or a run's metrics.jsonl) to the report's
// rows: one row per epoch with the training loss and accuracy, and the held-out accuracy on the
// row of the iteration it was measured at; an evaluation within an epoch gets a row of its own at
// its fractional epoch.
import type { EpochMetrics } from './training-plots';

/** What the rows read of an epoch's record (the Trainer's EpochRecord has these and more). */
export interface EpochFigures {
  epoch: number;
  iteration: number;
  loss: number;
  accuracy: number;
}

/** The figures of a run's epochs and evaluations, as the rows need them. */
export interface RunLog {
  epochs: readonly EpochFigures[];
  evals: readonly { iteration: number; epoch: number; accuracy: number; std?: number }[];
}

/**
 * The report's rows, by iteration: an epoch's end and an evaluation at it share one. An
 * evaluation between epoch ends is placed at iteration / `batchesPerEpoch` (default: the steps
 * an epoch took in `log`; without any, at the epochs it had completed).
 */
export function epochRows(log: RunLog, batchesPerEpoch?: number): EpochMetrics[] {
  const perEpoch = batchesPerEpoch ?? stepsPerEpoch(log.epochs);
  const rows = new Map<number, EpochMetrics>();
  for (const e of log.epochs) {
    rows.set(e.iteration, {
      epoch: e.epoch,
      iteration: e.iteration,
      trainLoss: e.loss,
      trainAccuracy: e.accuracy,
    });
  }
  for (const e of log.evals) {
    const row = rows.get(e.iteration) ?? {
      epoch: perEpoch ? e.iteration / perEpoch : e.epoch,
      iteration: e.iteration,
    };
    rows.set(e.iteration, { ...row, testAccuracy: e.accuracy });
  }
  return [...rows.values()].sort((a, b) => a.iteration! - b.iteration!);
}

function stepsPerEpoch(epochs: readonly EpochFigures[]): number | undefined {
  const last = epochs.at(-1);
  return last && last.epoch > 0 ? last.iteration / last.epoch : undefined;
}

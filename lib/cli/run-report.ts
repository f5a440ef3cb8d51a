// From a training history to the report writer's rows: one row per epoch with the training
// loss and accuracy, and the held-out accuracy on the epochs it was measured after.
import type { LfwEvaluation } from '../eval/lfw-evaluator';
import type { EpochMetrics } from '../report/training-plots';
import type { History } from '../train/trainer';

export function epochMetrics(history: History<LfwEvaluation>): EpochMetrics[] {
  const tested = new Map(history.evals.map((e) => [e.epoch, e.result.accuracy]));
  return history.epochs.map((e) => ({
    epoch: e.epoch,
    trainLoss: e.loss,
    trainAccuracy: e.accuracy,
    testAccuracy: tested.get(e.epoch),
  }));
}

export function formatAccuracy(e: { accuracy: number; std: number }): string {
  return `${e.accuracy.toFixed(4)} ± ${e.std.toFixed(4)}`;
}

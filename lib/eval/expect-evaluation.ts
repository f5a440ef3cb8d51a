// What reports and summaries read of an LfwEvaluation, checked before they read it: a value of
// another shape (a summary read back from JSON, a hand-made object) is named by its first
// missing field, rather than failing deep inside a plot.
import { describeReceived } from '../util/describe-received';
import type { LfwEvaluation } from './lfw-evaluator';

const WHAT = 'an LfwEvaluation (what LfwEvaluator.evaluate resolves to)';

export function expectEvaluation(value: unknown, name: string): LfwEvaluation {
  const problem = evaluationProblem(value);
  if (problem) throw new TypeError(`Expected ${WHAT} for ${name}, but ${problem}`);
  return value as LfwEvaluation;
}

function evaluationProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return `received ${describeReceived(value)}`;
  const e = value as Record<string, unknown>;
  for (const key of ['accuracy', 'std', 'threshold', 'images', 'pairs'] as const) {
    if (typeof e[key] !== 'number') return `its ${key} is ${describeReceived(e[key])}`;
  }
  if (!Array.isArray(e.folds)) return `its folds is ${describeReceived(e.folds)}`;
  const roc = e.roc as Record<string, unknown> | undefined;
  if (typeof roc !== 'object' || roc === null) {
    // A summary keeps the ROC figures flat (auc, eer) and no points.
    return 'it has no roc' + (e.auc !== undefined ? " (evaluationSummary's form has none)" : '');
  }
  for (const key of ['auc', 'eer', 'samePairs', 'differentPairs'] as const) {
    if (typeof roc[key] !== 'number') return `its roc.${key} is ${describeReceived(roc[key])}`;
  }
  if (!Array.isArray(roc.tarAtFar)) return `its roc.tarAtFar is ${describeReceived(roc.tarAtFar)}`;
  if (!Array.isArray(e.rocPoints) || e.rocPoints.length === 0) {
    return `its rocPoints is ${describeReceived(e.rocPoints)}`;
  }
  const protocol = e.protocol as { description?: unknown } | undefined;
  if (typeof protocol?.description !== 'string') return 'its protocol has no description';
  return undefined;
}

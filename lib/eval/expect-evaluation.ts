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
  // The ROC plots draw every point: a rate outside [0, 1] (NaN from a hand-made or corrupted
  // evaluation) would vanish from the curve without a word.
  const isRate = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
  const bad = (e.rocPoints as unknown[]).findIndex((p) => {
    const point = p as Partial<Record<'far' | 'tar', unknown>> | null;
    return !isRate(point?.far) || !isRate(point?.tar);
  });
  if (bad >= 0) {
    const point = (e.rocPoints as { far?: unknown; tar?: unknown }[])[bad];
    const show = (x: unknown) => (typeof x === 'number' ? String(x) : describeReceived(x));
    return (
      `its rocPoints[${bad}] is not a pair of rates in [0, 1] ` +
      `(far ${show(point?.far)}, tar ${show(point?.tar)})`
    );
  }
  const protocol = e.protocol as { description?: unknown } | undefined;
  if (typeof protocol?.description !== 'string') return 'its protocol has no description';
  return undefined;
}

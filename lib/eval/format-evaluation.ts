// Evaluation figures as the lines a terminal shows (the CLI's eval and demo print these).
import type { LfwEvaluation } from './lfw-evaluator';

export function formatEvaluation(e: LfwEvaluation, label = 'verification'): string[] {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const tar = e.roc.tarAtFar.map((t) => `TAR@FAR=${t.far} ${pct(t.tar)}`).join(', ');
  const lines = [
    `${label}: accuracy ${pct(e.accuracy)} ± ${pct(e.std)} over ${e.folds.length} folds (threshold ${e.threshold.toFixed(4)})`,
    `  AUC ${e.roc.auc.toFixed(4)}, EER ${pct(e.roc.eer)}, ${tar}`,
  ];
  if (e.angularFisherScore)
    lines.push(`  angular Fisher score ${e.angularFisherScore.afs.toFixed(4)} (lower is better)`);
  lines.push(`  protocol: ${e.protocol.description}`);
  return lines;
}

// The demo over several synthetic populations (`demo --seeds`): one row per seed and the mean
// and spread across them, so a claim about the demo's accuracy does not rest on one population.
import type { LfwEvaluation } from '../eval/lfw-evaluator';

export interface DemoResult {
  seed: number;
  final: LfwEvaluation;
  raw: LfwEvaluation;
  seconds: number;
  summary: object;
  report: string;
}

export interface SeedRow {
  seed: number;
  accuracy: number;
  std: number;
  rawPixelAccuracy: number;
  seconds: number;
}

export interface SeedSummary {
  /** Mean held-out accuracy over the seeds and its sample standard deviation across them. */
  meanAccuracy: number;
  stdAccuracy: number;
  minAccuracy: number;
  meanRawPixelAccuracy: number;
  stdRawPixelAccuracy: number;
}

/** Mean and sample standard deviation (n - 1; 0 for one value). */
export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, std: 0 };
  const squares = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(squares / (values.length - 1)) };
}

export function seedTable(results: readonly DemoResult[]): {
  rows: SeedRow[];
  overall: SeedSummary;
  lines: string[];
} {
  const rows = results.map((r) => ({
    seed: r.seed,
    accuracy: r.final.accuracy,
    std: r.final.std,
    rawPixelAccuracy: r.raw.accuracy,
    seconds: r.seconds,
  }));
  const accuracy = meanAndStd(rows.map((r) => r.accuracy));
  const raw = meanAndStd(rows.map((r) => r.rawPixelAccuracy));
  const overall = {
    meanAccuracy: accuracy.mean,
    stdAccuracy: accuracy.std,
    minAccuracy: Math.min(...rows.map((r) => r.accuracy)),
    meanRawPixelAccuracy: raw.mean,
    stdRawPixelAccuracy: raw.std,
  };
  const f = (x: number) => x.toFixed(4);
  const lines = [
    '| Seed | Held-out accuracy | Raw pixels | Wall time |',
    '|------|-------------------|------------|-----------|',
    ...rows.map(
      (r) =>
        `| ${String(r.seed).padEnd(4)} | ${f(r.accuracy)} ± ${f(r.std)}   | ` +
        `${f(r.rawPixelAccuracy)}     | ${r.seconds.toFixed(0).padStart(7)} s |`,
    ),
    '',
    `mean over ${rows.length} populations: ${f(accuracy.mean)} ± ${f(accuracy.std)} ` +
      `(lowest ${f(overall.minAccuracy)}); raw pixels ${f(raw.mean)} ± ${f(raw.std)}`,
  ];
  return { rows, overall, lines };
}

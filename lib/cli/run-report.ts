// From a training run to the report writer's rows. The rows come from the run's metrics.jsonl,
// which holds the whole run across resumes (the History of one fit() holds only its own part).
import * as path from 'node:path';
import type { LfwEvaluation } from '../eval/lfw-evaluator';
import { epochRows, type RunLog } from '../report/epoch-rows';
import { readMetrics } from '../train/metrics-log';
import type { History } from '../train/trainer';
import type { EpochRecord } from '../train/trainer-events';
import type { TrainingRunResult } from './training-run';
import { InterruptedError } from './stop-on-signal';

/** The run's log in `out`, or this fit()'s history when there is none. */
export async function readRunLog(out: string, history: History<LfwEvaluation>): Promise<RunLog> {
  const records = await readMetrics(path.join(out, 'metrics.jsonl')).catch(() => undefined);
  if (!records) {
    return {
      epochs: history.epochs,
      evals: history.evals.map((e) => ({
        iteration: e.iteration,
        epoch: e.epoch,
        accuracy: e.result.accuracy,
        std: e.result.std,
      })),
    };
  }
  const of = (type: string) => records.filter((r) => r.type === type).map(withoutType);
  return {
    epochs: of('epoch') as unknown as EpochRecord[],
    evals: of('eval') as unknown as RunLog['evals'],
  };
}

function withoutType({ type: _type, ...rest }: Record<string, unknown>): Record<string, unknown> {
  return rest;
}

/**
 * What train and demo record of a finished or stopped run beside their own fields: the whole
 * run's epochs (across resumes), whether it stopped early, and at which iteration the last
 * evaluation was taken.
 */
export async function runRecord(out: string, run: TrainingRunResult) {
  const log = await readRunLog(out, run.history);
  const lastEval = run.history.evals.at(-1);
  return {
    rows: epochRows(log, run.batchesPerEpoch),
    summary: {
      iterations: run.history.iterations,
      totalIterations: run.totalIterations,
      stopped: run.history.stopped,
      ...(run.resumedFrom ? { resumedFrom: run.resumedFrom.dir } : {}),
      ...(lastEval ? { evaluatedAt: lastEval.iteration } : {}),
      checkpoint: run.history.lastCheckpoint?.modelPath,
      epochs: log.epochs,
      evals: log.evals,
    },
  };
}

/** Whether the run was stopped (Ctrl-C, SIGTERM) before its last iteration. */
export function stoppedEarly(run: TrainingRunResult): boolean {
  return run.history.stopped && run.history.iterations < run.totalIterations;
}

/**
 * Ends a command that runs several trainings (the experiments) once one was stopped early: the
 * rows after it would not run, and its own has no final evaluation.
 */
export function throwIfStoppedEarly(run: TrainingRunResult, kept: string): void {
  if (!stoppedEarly(run) || run.stoppedBy === undefined) return;
  run.model.dispose();
  throw new InterruptedError(
    run.stoppedBy,
    `stopped at iteration ${run.history.iterations} of ${run.totalIterations}; ${kept}`,
  );
}

/** The lines saying a run stopped early, and where the accuracy printed was measured. */
export function stopLines(run: TrainingRunResult, resume: string): string[] {
  const lines: string[] = [];
  const lastEval = run.history.evals.at(-1);
  if (lastEval && lastEval.iteration !== run.history.iterations) {
    lines.push(`(the held-out accuracy is that of iteration ${lastEval.iteration})`);
  }
  if (stoppedEarly(run)) {
    lines.push(
      `stopped at iteration ${run.history.iterations} of ${run.totalIterations}; ` +
        `${resume} --resume continues the run`,
    );
  }
  return lines;
}

export function formatAccuracy(e: { accuracy: number; std: number }): string {
  return `${e.accuracy.toFixed(4)} ± ${e.std.toFixed(4)}`;
}

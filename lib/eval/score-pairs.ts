// The figures of an evaluation from its features: pair cosines under the protocol, the k-fold
// accuracy, the ROC and the Angular Fisher Score. Seconds of arithmetic at LFW size, so
// LfwEvaluator runs it on a worker thread (score-worker.ts), never on the event loop.
import * as path from 'node:path';
import type { VerificationPair } from '../data/types';
import { runOnOwnWorker } from '../util/worker-pool';
import {
  angularFisherScore,
  type AfsOptions,
  type AngularFisherScore,
} from './angular-fisher-score';
import { pairCosines, pairCosinesMinusTrainingMean } from './pair-scores';
import type { Protocol } from './protocol';
import { summarizeRoc, type RocPoint, type RocSummary } from './roc';
import { kFoldVerification, type VerificationResult } from './verification';

export interface ScoreTask {
  /** n x dim, float64; moved to the worker (the caller's copy is emptied). */
  features: Float64Array;
  dim: number;
  pairs: readonly VerificationPair[];
  protocol: Protocol;
  /** For the Angular Fisher Score; without them there is none. */
  labels?: Int32Array;
  afs: AfsOptions;
}

export interface PairScores {
  result: VerificationResult;
  roc: RocSummary;
  rocPoints: RocPoint[];
  /** Per pair: the score it was tested with (its own fold's, under subtractMean). */
  scores: Float64Array;
  angularFisherScore?: AngularFisherScore;
}

/** The figures, on the calling thread. */
export function scorePairs(task: ScoreTask): PairScores {
  const { features, dim, pairs, protocol } = task;
  // Under subtractMean each fold has its own scores; a pair is reported in the ROC with the
  // scores of the fold that tests it.
  const byFold = new Map<number, Float64Array>();
  if (protocol.subtractMean) {
    for (const fold of new Set(pairs.map((p) => p.fold))) {
      byFold.set(fold, pairCosinesMinusTrainingMean(features, dim, pairs, fold));
    }
  }
  const fixed = protocol.subtractMean ? undefined : pairCosines(features, dim, pairs);
  const scoresFor = (fold: number) => fixed ?? (byFold.get(fold) as Float64Array);
  const scores = Float64Array.from(pairs, (p, i) => scoresFor(p.fold)[i]);
  const result = kFoldVerification(scoresFor, pairs, { threshold: protocol.threshold });
  const { points, summary } = summarizeRoc(
    scores,
    pairs.map((p) => p.same),
  );
  return {
    result,
    roc: summary,
    rocPoints: points,
    scores,
    angularFisherScore: fisherScore(task),
  };
}

// A by-product: undefined without labels or when it is undefined (one class, or class means
// with no direction), rather than failing the verification figures.
function fisherScore({ features, dim, labels, afs }: ScoreTask): AngularFisherScore | undefined {
  if (!labels || labels.length * dim !== features.length) return undefined;
  try {
    return angularFisherScore(features, labels, dim, afs);
  } catch {
    return undefined;
  }
}

/** A ScoreTask as sent to the worker: its features as their whole buffer. */
export type ScoreTaskMessage = Omit<ScoreTask, 'features'> & { features: ArrayBuffer };

/** The figures, on a worker thread of its own. */
export async function scorePairsOffThread(task: ScoreTask): Promise<PairScores> {
  // The buffer, not a view of it, crosses: Node cuts a view of 4 GiB or more (raw-pixel features
  // of LFW) to its length modulo 2^32 on the way.
  const { features } = task;
  const whole = features.byteOffset === 0 && features.byteLength === features.buffer.byteLength;
  const buffer = (whole ? features : features.slice()).buffer as ArrayBuffer;
  const [scored] = await runOnOwnWorker<ScoreTaskMessage, PairScores>(
    path.join(__dirname, 'score-worker.js'),
    [{ ...task, features: buffer }],
    // Moved, not copied: cloning LFW's 63 MB of features took longer than the scoring.
    { name: 'LfwEvaluator', transferOf: (t) => [t.features] },
  );
  return scored;
}

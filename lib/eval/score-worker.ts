// The worker thread an evaluation's figures are computed on (score-pairs.ts).
import { serveTasks } from '../util/worker-pool';
import { scorePairs, type PairScores, type ScoreTask } from './score-pairs';

serveTasks<ScoreTask, PairScores>((task) => {
  const scored = scorePairs(task);
  return { result: scored, transfer: [scored.scores.buffer] };
});

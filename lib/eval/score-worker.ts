// The worker thread an evaluation's figures are computed on (score-pairs.ts).
import { serveTasks } from '../util/worker-pool';
import { scorePairs, type PairScores, type ScoreTaskMessage } from './score-pairs';

serveTasks<ScoreTaskMessage, PairScores>((task) => {
  const scored = scorePairs({ ...task, features: new Float64Array(task.features) });
  return { result: scored, transfer: [scored.scores.buffer] };
});

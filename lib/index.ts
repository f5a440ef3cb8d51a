export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
export {
  Trainer,
  NonFiniteLossError,
  type TrainerOptions,
  type History,
  type Every,
  type OptimizerOptions,
  type ModelEvaluator,
} from './train/trainer';
export type {
  BatchRecord,
  EpochRecord,
  EvalRecord,
  EvaluationLike,
  TrainerEvents,
} from './train/trainer-events';
export {
  learningRate,
  PAPER_ITERATIONS,
  PAPER_MILESTONES,
  type LrSchedule,
} from './train/schedule';
export { DEFAULT_LAMBDA, lambdaAt, type LambdaSchedule } from './train/lambda-schedule';
export {
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  type Checkpoint,
  type CheckpointState,
} from './train/checkpoint';
export { readMetrics, type MetricsRecord } from './train/metrics-log';

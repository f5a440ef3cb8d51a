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
export { tenFoldVerification, kFoldVerification, bestThreshold } from './eval/verification';
export type {
  FoldResult,
  ThresholdCandidates,
  ThresholdOptions,
  VerificationResult,
} from './eval/verification';
export { rocCurve, areaUnderCurve, equalErrorRate, tarAtFar, summarizeRoc } from './eval/roc';
export type { RocPoint, RocSummary, TarAtFar } from './eval/roc';
export { angularFisherScore } from './eval/angular-fisher-score';
export type { AngularFisherScore } from './eval/angular-fisher-score';
export { LfwEvaluator, evaluationSummary } from './eval/lfw-evaluator';
export type { LfwEvaluation, LfwEvaluatorOptions } from './eval/lfw-evaluator';
export { rawPixelEmbedder } from './eval/embedder';
export type { Embedder } from './eval/embedder';
export { resolveProtocol, describeProtocol } from './eval/protocol';
export type { FlipMode, Protocol, ProtocolOptions } from './eval/protocol';
export { encodeNpy } from './eval/npy';

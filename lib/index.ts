export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
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
export type { EvaluateOptions, LfwEvaluation, LfwEvaluatorOptions } from './eval/lfw-evaluator';
export { rawPixelEmbedder } from './eval/embedder';
export type { Embedder } from './eval/embedder';
export { resolveProtocol, describeProtocol } from './eval/protocol';
export type { FlipMode, Protocol, ProtocolOptions } from './eval/protocol';
export { encodeNpy, writeNpy } from './eval/npy';
export { writeReport } from './report/write-report';
export type { ReportInput, WrittenReport } from './report/write-report';
export { renderLinePlot } from './report/line-plot';
export type { LinePlotSpec, Series } from './report/line-plot';
export { renderLossPlot, renderAccuracyPlot, renderRocPlot } from './report/training-plots';
export type { EpochMetrics, RocCurve } from './report/training-plots';
export { writeFileAtomic } from './report/write-file-atomic';
export { embedFiles, verify } from './eval/face-files';
export type { EmbedFilesOptions, FileEmbedder, FileEmbeddings, Verdict } from './eval/face-files';
export { decodeFaceImage } from './eval/decode-face-image';
export { flipImagesHorizontally } from './eval/flip-images';
export { makeVerificationPairs } from './eval/make-pairs';
export type { MakePairsOptions } from './eval/make-pairs';
export { formatEvaluation } from './eval/format-evaluation';

export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
export { marginSoftmaxLoss } from './ops/margin-softmax';
export type { MarginSoftmaxInput, MarginSoftmaxResult } from './ops/margin-softmax';
export { validateMarginHead } from './ops/margin-head';
export type { MarginHead } from './ops/margin-head';
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
export type { ImageSet, Batch, BatchSource, VerificationPair } from './data/types';
export { ImageFolderDataset, IMAGE_EXTENSIONS } from './data/image-folder-dataset';
export { FileListDataset } from './data/file-list-dataset';
export { LfwDataset } from './data/lfw-dataset';
export type { LoadedLfw, SkippedPair } from './data/lfw-dataset';
export { PairsFile } from './data/pairs-file';
export type { PairLine } from './data/pairs-file';
export { LandmarksFile } from './data/landmarks-file';
export { loadImages } from './data/load-images';
export type { LoadImagesOptions, LoadedImages, OnBadImage } from './data/load-images';
export { ImageCache, CACHE_VERSION } from './data/image-cache';
export type { SkippedImage, CacheMiss } from './data/image-cache';
export { DecodePool } from './data/decode-pool';
export type { DecodeJob, DecodeOutcome, DecodePoolOptions } from './data/decode-pool';
export { decodeImage } from './data/image-decoder';
export { DataLoader } from './data/data-loader';
export type { DataLoaderOptions, LoaderTransform, RandomTransform } from './data/data-loader';
export { prepareImageStore } from './data/store/prepare-image-store';
export type { PrepareEvent, PrepareImageStoreOptions } from './data/store/prepare-image-store';
export { ImageStore, openImageStore } from './data/store/image-store';
export type { OpenImageStoreOptions, StorePreparation } from './data/store/image-store';
export type { ShardProblem } from './data/store/check-shards';
export type { ImageSource, SourceImage } from './data/store/image-source';
export { folderSource } from './data/store/folder-source';
export { listSource } from './data/store/list-source';
export { openSource } from './data/store/open-source';
export { ImageReader, liveImageReaderCount } from './data/store/image-reader';
export type { CropWindow, GatherOptions } from './data/store/image-reader';
export { Rng } from './data/rng';
export { Resize, resizeBilinear } from './data/transforms/resize';
export { CenterCrop } from './data/transforms/center-crop';
export { RandomCrop } from './data/transforms/random-crop';
export { RandomHorizontalFlip, applyFlips } from './data/transforms/random-horizontal-flip';
export { Normalize } from './data/transforms/normalize';
export { FaceAlign, SPHEREFACE_TEMPLATE } from './data/transforms/face-align';
export type { FaceAlignOptions } from './data/transforms/face-align';
export { fitSimilarity } from './data/transforms/similarity';
export type { Affine } from './data/transforms/similarity';
export type { DeterministicTransform, TransformSpec } from './data/transforms/transform';
export type { RawImage, FivePoints } from './data/transforms/raw-image';
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
export { writeFileAtomic } from './fs/write-file-atomic';
export { embedFiles, verify } from './eval/face-files';
export type { EmbedFilesOptions, FileEmbedder, FileEmbeddings, Verdict } from './eval/face-files';
export { decodeFaceImage, faceImageTransforms } from './eval/decode-face-image';
export { flipImagesHorizontally } from './eval/flip-images';
export { makeVerificationPairs } from './eval/make-pairs';
export type { MakePairsOptions } from './eval/make-pairs';
export { formatEvaluation } from './eval/format-evaluation';
export { generateSyntheticFaces } from './synth/generate';
export type { SynthOptions, SynthResult, SynthSettings } from './synth/generate';
export { Model, createModel, loadModel, liveModelCount } from './models/model';
export type {
  LoadModelOptions,
  ModelStepInput,
  ModelStepResult,
  StepTimings,
} from './models/model';
export { ARCHS, inputSizeOf } from './models/archs';
export type {
  Arch,
  DeviceChoice,
  FaceModel,
  ModelOptions,
  TrainStepInput,
  TrainStepResult,
} from './models/types';

// The public API: what the README documents, nothing else.

// Build and runtime
export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';

// The margin-softmax loss on its own
export { marginSoftmaxLoss } from './ops/margin-softmax';
export type { MarginSoftmaxInput, MarginSoftmaxResult } from './ops/margin-softmax';
export type { MarginHead } from './ops/margin-head';

// Models
export { Model, createModel, loadModel, importStateDict, liveModelCount } from './models/model';
export type {
  LoadModelOptions,
  ModelStepInput,
  ModelStepResult,
  SaveModelOptions,
  StepTimings,
} from './models/model';
export type { ImportStateDictOptions } from './models/state-dict';
export type { StoredThreshold } from './models/threshold';
export { ARCHS, inputSizeOf } from './models/archs';
export type {
  Arch,
  DeviceChoice,
  FaceModel,
  ModelOptions,
  TrainStepInput,
  TrainStepResult,
} from './models/types';
export type { Embedder, FlipMode } from './models/embed-images';
export { embedFiles, verify } from './models/face-files';
export type { EmbedFilesOptions, FileEmbeddings, Verdict } from './models/face-files';
export type { Alignment, FaceBox, FaceLocations } from './models/face-location';
export { Gallery } from './models/gallery';
export type {
  GalleryMatch,
  GalleryModel,
  GalleryOptions,
  GallerySearchResult,
} from './models/gallery';

// Training
export { Trainer, NonFiniteLossError } from './train/trainer';
export type {
  Every,
  History,
  ModelEvaluator,
  OptimizerOptions,
  TrainerOptions,
} from './train/trainer';
export type {
  BatchRecord,
  EpochRecord,
  EvalRecord,
  EvaluationLike,
  TrainerEvents,
} from './train/trainer-events';
export { learningRate, PAPER_ITERATIONS, PAPER_MILESTONES, PAPER_LR } from './train/schedule';
export type { LrSchedule } from './train/schedule';
export { DEFAULT_LAMBDA, lambdaAt } from './train/lambda-schedule';
export type { LambdaSchedule } from './train/lambda-schedule';
export { latestCheckpoint, listCheckpoints, readCheckpoint } from './train/checkpoint';
export type { Checkpoint, CheckpointState } from './train/checkpoint';
export { readMetrics } from './train/metrics-log';
export type { MetricsRecord } from './train/metrics-log';

// Distributed training
export { ProcessGroup, reportLostRank } from './dist/process-group';
export {
  DEFAULT_BUCKET_BYTES,
  DEFAULT_DIST_TIMEOUT_MS,
  resolveDistributedOptions,
} from './dist/distributed-options';
export type { DistributedConfig, DistributedOptions } from './dist/distributed-options';

// Data
export type { ImageSet, Batch, BatchSource, VerificationPair } from './data/types';
export { ImageFolderDataset } from './data/image-folder-dataset';
export type { SkippedEntry } from './data/image-folder-dataset';
export { FileListDataset } from './data/file-list-dataset';
export { LfwDataset } from './data/lfw-dataset';
export type { LoadedLfw, SkippedPair } from './data/lfw-dataset';
export { LandmarksFile } from './data/landmarks-file';
export { loadImages } from './data/load-images';
export { decodeImage, DEFAULT_MAX_PIXELS } from './data/image-decoder';
export type { DecodeImageOptions, ImageFormat } from './data/image-decoder';
export type { LoadImagesOptions, LoadedImages, OnBadImage } from './data/load-images';
export { DecodePool } from './data/decode-pool';
export type {
  DecodeJob,
  DecodeOutcome,
  DecodePoolOptions,
  DecodeRunOptions,
} from './data/decode-pool';
export type { SkippedImage } from './data/image-cache';
export { DataLoader } from './data/data-loader';
export type { DataLoaderOptions, LoaderTransform, RandomTransform } from './data/data-loader';
export { prepareImageStore, ShardSizeError } from './data/store/prepare-image-store';
export type { PrepareEvent, PrepareImageStoreOptions } from './data/store/prepare-image-store';
export { ImageStore, openImageStore } from './data/store/image-store';
export type { OpenImageStoreOptions, StorePreparation } from './data/store/image-store';
export type { ShardProblem } from './data/store/check-shards';
export type { ImageSource, SourceImage } from './data/store/image-source';
export { folderSource } from './data/store/folder-source';
export { listSource } from './data/store/list-source';
export { openSource } from './data/store/open-source';
export { recordIOSource } from './data/formats/recordio-source';
export type { RecordIOSourceOptions, RecordIOProperty } from './data/formats/recordio-source';
export { loadVerificationBin } from './data/insightface-bin';
export type { LoadVerificationBinOptions, LoadedVerificationBin } from './data/insightface-bin';
export { makeVerificationPairs } from './data/verification-pairs';
export type { MakePairsOptions } from './data/verification-pairs';
export { Resize } from './data/transforms/resize';
export { CenterCrop } from './data/transforms/center-crop';
export { RandomCrop } from './data/transforms/random-crop';
export { RandomHorizontalFlip } from './data/transforms/random-horizontal-flip';
export { Normalize } from './data/transforms/normalize';
export { FaceAlign, SPHEREFACE_TEMPLATE } from './data/transforms/face-align';
export type { FaceAlignOptions } from './data/transforms/face-align';
export type { DeterministicTransform } from './data/transforms/transform';
export type { RawImage, FivePoints } from './data/transforms/raw-image';

// Evaluation and reports
export { LfwEvaluator, evaluationSummary } from './eval/lfw-evaluator';
export type { EvaluateOptions, LfwEvaluation, LfwEvaluatorOptions } from './eval/lfw-evaluator';
export type { Protocol, ProtocolOptions } from './eval/protocol';
export type { FoldResult, ThresholdOptions } from './eval/verification';
export type { RocPoint, RocSummary, TarAtFar } from './eval/roc';
export { rawPixelEmbedder } from './eval/embedder';
export { angularFisherScore } from './eval/angular-fisher-score';
export type { AngularFisherScore } from './eval/angular-fisher-score';
export { encodeNpy } from './eval/npy';
export { checkReportFolder, writeReport } from './report/write-report';
export type { ReportInput, WrittenReport } from './report/write-report';
export type { EpochMetrics } from './report/training-plots';

// Synthetic identities
export { generateSyntheticFaces } from './synth/generate';
export type { SynthOptions, SynthResult, SynthSettings } from './synth/generate';

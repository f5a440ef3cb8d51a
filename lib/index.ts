export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
export { marginSoftmaxLoss } from './ops/margin-softmax';
export type { MarginSoftmaxInput, MarginSoftmaxResult } from './ops/margin-softmax';
export { validateMarginHead } from './ops/margin-head';
export type { MarginHead } from './ops/margin-head';
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

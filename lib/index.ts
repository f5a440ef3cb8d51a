export { info, setNumThreads } from './info';
export type { SpherefaceInfo } from './info';
export { version } from './version';
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

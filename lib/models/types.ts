// The shape of a model as the rest of the library uses it (implemented in lib/models/).
import type { ProcessGroup } from '../dist/process-group';
import type { MarginHead } from '../ops/margin-head';
import type { Arch } from './archs';

export type { Arch } from './archs';
export type DeviceChoice = 'auto' | 'cpu' | 'cuda';

export interface ModelOptions {
  arch: Arch;
  classes: number;
  head: MarginHead;
  embeddingDim?: number; // the net's output size, default 512 (EMBEDDING_DIM)
  device?: DeviceChoice; // default 'auto'
  seed?: number; // makes initialisation (and CPU steps) reproducible
  mean?: number; // preprocessing (x - mean) / std, defaults 127.5 and 128
  std?: number;
}

export interface TrainStepInput {
  images: Uint8Array; // n x H x W x 3, RGB
  labels: Int32Array; // n
  n: number;
  lr: number;
  lambda?: number; // sphere head's annealing weight for this step (ignored by cos/arc)
  flip?: Uint8Array; // n; nonzero mirrors that image horizontally
  momentum?: number; // default 0.9
  weightDecay?: number; // default 5e-4
  nesterov?: boolean; // default false
}

export interface TrainStepResult {
  loss: number;
  accuracy: number;
  /** false when the model refused the update (a non-finite loss or unusable new weights). */
  updated?: boolean;
  /** Images the step trained on, over every rank when distributed (loss and accuracy too). */
  images?: number;
}

/** What Trainer, LfwEvaluator and the CLI need from a model. */
export interface FaceModel {
  readonly arch: Arch;
  readonly classes: number;
  readonly head: MarginHead;
  readonly device: 'cpu' | 'cuda';
  readonly inputSize: { height: number; width: number };
  readonly embeddingDim: number; // 512 unless the model was created with another
  /** SGD steps taken, saved with the model: a resume checks its model is the checkpoint's. */
  readonly steps?: number;
  parameterCount(options?: { head?: boolean }): number;
  /** Eval-mode embeddings, n x embeddingDim; `flip` mirrors image i first where flip[i] != 0. */
  embed(images: Uint8Array, n: number, flip?: Uint8Array): Promise<Float32Array>;
  trainStep(input: TrainStepInput): Promise<TrainStepResult>;
  /** Joins a distributed run: rank 0's weights replace these; steps average over the ranks. */
  joinGroup?(group: ProcessGroup): Promise<void>;
  /** Arch, head, weights and optimiser state, written atomically. */
  save(path: string): Promise<void>;
  dispose(): void;
  /** Refuses dispose() until the returned release is called (Model: while a fit uses it). */
  hold?(user: string): () => void;
}

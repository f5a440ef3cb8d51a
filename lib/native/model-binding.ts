// The native side of the models and their training state, as lib/native.ts loads it
// (native/bindings/model_binding.cc). Arguments are validated in lib/models/ before they get here.
import type { NativeProcessGroupHandle } from './dist-binding';
import type { NativeMarginHead } from './loss-binding';

/** Every field is required: the defaults live in lib/models/validate.ts. */
export interface NativeModelConfig {
  arch: string;
  classes: number;
  /** The net's output size, the head's row length. */
  embeddingDim: number;
  head: NativeMarginHead;
  device: string;
  /** Drives initialisation (an integer in 0..2^53-1; drawn at random when the user gave none). */
  seed: number;
  mean: number;
  std: number;
}

/** A verification threshold kept in a model file, with the protocol that found it. */
export interface NativeThreshold {
  value: number;
  protocol: string;
}

export interface NativeModelDescription {
  arch: string;
  classes: number;
  embeddingDim: number;
  head: NativeMarginHead;
  device: 'cpu' | 'cuda';
  mean: number;
  std: number;
  steps: number;
  /** The threshold stored in the file (load only; absent when it has none). */
  threshold?: NativeThreshold;
}

/** A weight's name (as in the exported state_dict) and shape, in the net's layer order. */
export interface NativeWeightShape {
  name: string;
  shape: number[];
}

export interface NativeStepOptions {
  lr: number;
  lambda: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  decayAll: boolean;
  timings: boolean;
}

/** Milliseconds per phase of one training step. */
export interface StepTimings {
  prepare: number; // uint8 -> float, flip, copy to the device
  forward: number; // the net's forward pass
  loss: number; // the fused margin-softmax loss, forward and backward
  backward: number; // the net's backward pass
  reduce: number; // distributed: waiting for the gradient all-reduce the backward did not hide
  optimiser: number; // the fused SGD update
}

export interface NativeStepResult {
  loss: number;
  accuracy: number;
  /** false when the loss was not finite or the update would leave unusable weights. */
  updated: boolean;
  /** Images the step trained on: n, or the sum over the ranks when distributed. */
  images: number;
  /** Only when NativeStepOptions.timings asked for them. */
  timings?: StepTimings;
}

export interface NativeModelHandle {
  initialise(config: NativeModelConfig): Promise<NativeModelDescription>;
  load(path: string, device: string, expectedArch: string | null): Promise<NativeModelDescription>;
  describe(): NativeModelDescription;
  parameterCount(withHead: boolean): number;
  macsPerImage(): number;
  embed(images: Uint8Array, n: number, flip: Uint8Array | null): Promise<Float32Array>;
  trainStep(
    images: Uint8Array,
    labels: Int32Array,
    n: number,
    flip: Uint8Array | null,
    options: NativeStepOptions,
  ): Promise<NativeStepResult>;
  /** Joins a NativeProcessGroup's run (rank 0's weights replace these). */
  joinGroup(group: NativeProcessGroupHandle, bucketBytes: number, overlap: boolean): Promise<void>;
  /** Writes a new model file; without optimiser state when `weightsOnly`. */
  save(path: string, weightsOnly: boolean, threshold: NativeThreshold | null): Promise<void>;
  /** Writes a new file torch.load reads: a dict of the net's and the head's float32 weights. */
  exportStateDict(path: string): Promise<void>;
  weightShapes(): NativeWeightShape[];
  /**
   * Replaces the named weights (each a row-major float32 array, read on the model's thread: keep
   * them attached until this settles); clears the momentum buffers.
   */
  setWeights(names: string[], data: Float32Array[], source: string): Promise<void>;
  inFlight(): number;
  dispose(): void;
}

export interface ModelBinding {
  NativeModel: new () => NativeModelHandle;
  liveModelCount(): number;
}

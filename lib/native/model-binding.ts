// The native side of the models and their training state, as lib/native.ts loads it
// (native/bindings/model_binding.cc). Arguments are validated in lib/models/ before they get here.
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

export interface NativeModelDescription {
  arch: string;
  classes: number;
  embeddingDim: number;
  head: NativeMarginHead;
  device: 'cpu' | 'cuda';
  mean: number;
  std: number;
  steps: number;
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
  optimiser: number; // the fused SGD update
}

export interface NativeStepResult {
  loss: number;
  accuracy: number;
  /** false when the loss was not finite or the update would leave unusable weights. */
  updated: boolean;
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
  save(path: string): Promise<void>;
  inFlight(): number;
  dispose(): void;
}

export interface ModelBinding {
  NativeModel: new () => NativeModelHandle;
  liveModelCount(): number;
}

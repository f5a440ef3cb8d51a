// The native side of the models and their training state, as lib/native.ts loads it
// (native/bindings/model_binding.cc). Arguments are validated in lib/models/ before they get here.
import type { MarginHead } from '../ops/margin-head';

export interface NativeModelConfig {
  arch: string;
  classes: number;
  head: MarginHead;
  device: string;
  seed?: number;
  mean: number;
  std: number;
}

export interface NativeModelDescription {
  arch: string;
  classes: number;
  head: { kind: 'sphere' | 'cos' | 'arc'; m: number; scale: number; lambda: number };
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
  updated: boolean;
  timings: StepTimings;
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
  fusedSgdStep(
    param: Float32Array,
    grad: Float32Array,
    buffer: Float32Array,
    options: { lr: number; momentum: number; weightDecay: number; nesterov: boolean },
  ): void;
  preluForTests(
    x: Float32Array,
    shape: [number, number, number, number],
    slope: Float32Array,
    grad: Float32Array,
    channelsLast: boolean,
  ): { y: Float32Array; gradX: Float32Array; gradSlope: Float32Array };
  conv3x3ForTests(
    x: Float32Array,
    shape: [number, number, number, number],
    weight: Float32Array,
    outChannels: number,
    grad: Float32Array,
    channelsLast: boolean,
  ): { y: Float32Array; gradX: Float32Array; gradWeight: Float32Array; winograd: boolean };
  stridedConvStackForTests(
    x: Float32Array,
    shape: [number, number, number, number],
    layers: { weight: Float32Array; bias: Float32Array }[],
    grad: Float32Array,
    channelsLast: boolean,
    wantGradX: boolean,
  ): {
    y: Float32Array;
    gradX: Float32Array | null;
    gradWeights: Float32Array[];
    gradBiases: Float32Array[];
    blocked: boolean;
  };
}

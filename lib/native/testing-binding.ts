// What the testing addon exports (native/testing/): hooks into single layers of the nets and the
// native benchmarks, loaded by lib/native.ts's nativeTesting() for tests and benches only.
import type { ShutdownBinding } from './index';
import type { NativeMarginHead } from './loss-binding';

type Shape = [number, number, number, number];

/** Options of the native margin-softmax benchmark (native/testing/bench/). */
export interface MarginSoftmaxBenchOptions {
  batch: number;
  dim: number;
  classes: number;
  threads: number;
  repeats: number;
  seedRepeats: number;
  head: NativeMarginHead;
  /** 'cuda': each timing ends with a synchronisation; no seed variant, no memory figures. */
  device: 'cpu' | 'cuda';
}

type BenchVariants = 'gemms' | 'fused' | 'composed' | 'seed';

export type MarginSoftmaxBenchResult = Record<BenchVariants, number[]> & {
  peakBytes: Record<BenchVariants, number>;
  bufferBytes: number;
  outputBytes: number;
  threads: number;
  /** The fused and the composed losses on the bench's inputs (the same maths). */
  fusedLoss: number;
  composedLoss: number;
};

/** One residual unit's parameters: C x C x 3 x 3 convs, C slopes, and C biases or none. */
export interface ResidualUnitWeights {
  conv1: Float32Array;
  prelu1: Float32Array;
  conv2: Float32Array;
  prelu2: Float32Array;
  bias1?: Float32Array;
  bias2?: Float32Array;
}

export interface TestingBinding extends ShutdownBinding {
  /**
   * The optimiser's check and update on plain arrays, as a training step runs them: param and
   * buffer are updated in place and true returned, or, when the update would leave a value
   * unusable (past the bound or not finite), nothing is touched and false returned.
   */
  fusedSgdStep(
    param: Float32Array,
    grad: Float32Array,
    buffer: Float32Array,
    options: { lr: number; momentum: number; weightDecay: number; nesterov: boolean },
  ): boolean;
  preluForTests(
    x: Float32Array,
    shape: Shape,
    slope: Float32Array,
    grad: Float32Array,
    channelsLast: boolean,
  ): { y: Float32Array; gradX: Float32Array; gradSlope: Float32Array };
  conv3x3ForTests(
    x: Float32Array,
    shape: Shape,
    weight: Float32Array,
    outChannels: number,
    grad: Float32Array,
    channelsLast: boolean,
  ): { y: Float32Array; gradX: Float32Array; gradWeight: Float32Array; winograd: boolean };
  conv3x3InferenceForTests(
    x: Float32Array,
    shape: Shape,
    weight: Float32Array,
    outChannels: number,
    channelsLast: boolean,
  ): {
    y: Float32Array;
    again: Float32Array;
    winograd: boolean;
    transformsFirst: number;
    transformsAgain: number;
  };
  residualStageForTests(
    x: Float32Array,
    shape: Shape,
    units: ResidualUnitWeights[],
    channelsLast: boolean,
  ): { y: Float32Array; blocked: boolean };
  stridedConvStackForTests(
    x: Float32Array,
    shape: Shape,
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
  benchMarginSoftmax(options: MarginSoftmaxBenchOptions): Promise<MarginSoftmaxBenchResult>;
}

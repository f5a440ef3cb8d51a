// The native side of the fused margin-softmax op, as lib/native.ts loads it.

/** Arguments of the native marginSoftmaxLoss: validated by lib/ops/margin-softmax.ts first. */
export interface NativeMarginSoftmaxInput<A extends Float32Array | Float64Array> {
  features: A;
  weight: A;
  labels: Int32Array;
  dim: number;
  kind: 'sphere' | 'cos' | 'arc';
  m: number;
  scale: number;
  lambda: number;
  device?: 'cpu' | 'cuda';
}

export interface NativeMarginSoftmaxResult<A extends Float32Array | Float64Array> {
  loss: number;
  accuracy: number;
  gradFeatures: A;
  gradWeight: A;
}

/** Options of the internal benchmark (native/bench/margin_softmax_bench.h). */
export interface MarginSoftmaxBenchOptions {
  batch?: number;
  dim?: number;
  classes?: number;
  threads?: number;
  repeats?: number;
  seedRepeats?: number;
  kind?: 'sphere' | 'cos' | 'arc';
  m?: number;
  scale?: number;
  lambda?: number;
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

export interface LossBinding {
  marginSoftmaxLoss<A extends Float32Array | Float64Array>(
    input: NativeMarginSoftmaxInput<A>,
  ): Promise<NativeMarginSoftmaxResult<A>>;
  benchMarginSoftmax(options: MarginSoftmaxBenchOptions): Promise<MarginSoftmaxBenchResult>;
}

// The native side of the fused margin-softmax op, as lib/native.ts loads it.

/** Arguments of the native marginSoftmaxLoss: validated by lib/ops/margin-softmax.ts first. */
export interface NativeMarginSoftmaxInput<A extends Float32Array | Float64Array> {
  features: A;
  weight: A;
  /** The softmax head's, one per class; null for the others. */
  bias: A | null;
  labels: Int32Array;
  dim: number;
  head: NativeMarginHead;
  device: 'cpu' | 'cuda';
}

export interface NativeMarginSoftmaxResult<A extends Float32Array | Float64Array> {
  loss: number;
  accuracy: number;
  gradFeatures: A;
  gradWeight: A;
  gradBias: A | null;
}

export interface LossBinding {
  marginSoftmaxLoss<A extends Float32Array | Float64Array>(
    input: NativeMarginSoftmaxInput<A>,
  ): Promise<NativeMarginSoftmaxResult<A>>;
}

/** A margin head as the native code takes it: every field present (TypeScript owns defaults). */
export interface NativeMarginHead {
  kind: 'sphere' | 'cos' | 'arc' | 'softmax';
  /** 0 for softmax. */
  m: number;
  /** s for cos and arc; unused by sphere (which keeps ||x||) and softmax: 1 there. */
  scale: number;
  /** sphere's annealing weight (default 0); unused by the others: 0 there. */
  lambda: number;
  /** arc's easy margin (default false); false for the others. */
  easyMargin: boolean;
}

// The native side of distributed training, as lib/native loads it (native/bindings/
// dist_binding.cc over native/dist/). Arguments are validated in lib/dist/ before they get here.

/** Every field is required: the defaults and the environment are read in lib/dist/. */
export interface NativeGroupConfig {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
  backend: 'auto' | 'gloo' | 'nccl';
}

export interface NativeProcessGroupHandle {
  join(config: NativeGroupConfig): Promise<{ rank: number; worldSize: number; backend: string }>;
  allReduce(values: Float64Array, op: 'sum' | 'max'): Promise<Float64Array>;
  barrier(): Promise<void>;
  leave(): Promise<void>;
  abort(): void;
  reportLost(rank: number, reason: string): void;
  inFlight(): number;
  dispose(): void;
}

export interface DistBinding {
  NativeProcessGroup: new () => NativeProcessGroupHandle;
}

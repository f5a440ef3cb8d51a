import * as os from 'node:os';
import { native } from './native';
import { version } from './version';

export interface SpherefaceInfo {
  version: string;
  torch: { version: string; source: string };
  cuda: { available: boolean; devices: string[]; kernels: boolean };
  threads: number;
  cores: number;
  blas: string;
  /** Whether the residual convs run oneDNN's Winograd kernels (see the README's Models). */
  winograd: boolean;
  /** Whether sphere-cnn4's stride-2 convs run oneDNN's blocked kernels (README, Models). */
  blockedConvs: boolean;
  /** The distributed-training backends this build has: 'gloo', 'nccl'; empty for none. */
  distributed: string[];
}

/** What sphereface runs on: its version, libtorch's version and origin, CUDA, threads and BLAS. */
export function info(): SpherefaceInfo {
  const raw = native().info();
  return {
    version,
    torch: { version: raw.torchVersion, source: raw.torchSource },
    cuda: { available: raw.cudaAvailable, devices: raw.cudaDevices, kernels: raw.cudaKernels },
    threads: raw.numThreads,
    cores: os.availableParallelism(),
    blas: raw.blas,
    winograd: raw.winograd,
    blockedConvs: raw.blockedConvs,
    distributed: raw.distributedBackends,
  };
}

/** Sets libtorch's intra-op thread count (defaults to the cores available). */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`Expected a positive integer for threads but received ${String(threads)}`);
  }
  native().setNumThreads(threads);
}

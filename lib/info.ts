import * as os from 'node:os';
import { native } from './native';
import { expectInteger, MAX_THREADS } from './util/expect';
import { version } from './version';

export interface SpherefaceInfo {
  version: string;
  torch: { version: string; source: string };
  cuda: {
    available: boolean;
    devices: string[];
    /** Whether the addon was built with the fused loss's CUDA kernels (nvcc at build time). */
    kernels: boolean;
    /** Where device 'auto' puts a model: CUDA when libtorch has it and a GPU is visible. */
    autoDevice: 'cuda' | 'cpu';
    /**
     * How the loss runs on CUDA tensors: its CUDA kernel, or, in an addon built without nvcc
     * against a CUDA libtorch, its CPU kernel on copies (the nets stay on the GPU); 'none'
     * without CUDA.
     */
    loss: 'cuda-kernel' | 'cpu-kernel-on-copies' | 'none';
  };
  threads: number;
  cores: number;
  blas: string;
  /** Whether the residual convs run oneDNN's Winograd kernels (see the README's Models). */
  winograd: boolean;
  /**
   * Whether activations may stay in oneDNN's blocked layout between convs: sphere-cnn4's stride-2
   * convs, and model.embed's residual stages where `winograd` holds (README, Models).
   */
  blockedConvs: boolean;
  /** The distributed-training backends this build has: 'gloo', 'nccl'; empty for none. */
  distributed: string[];
  /**
   * The libjpeg-turbo the decode workers decode plain JPEGs with ("libjpeg-turbo 2.1.5"); ''
   * when the addon was built without it, and sharp decodes every image.
   */
  jpegDecoder: string;
}

/** What sphereface runs on: its version, libtorch's version and origin, CUDA, threads and BLAS. */
export function info(): SpherefaceInfo {
  const raw = native().info();
  return {
    version,
    torch: { version: raw.torchVersion, source: raw.torchSource },
    cuda: {
      available: raw.cudaAvailable,
      devices: raw.cudaDevices,
      kernels: raw.cudaKernels,
      autoDevice: raw.cudaAvailable ? 'cuda' : 'cpu',
      loss: !raw.cudaAvailable ? 'none' : raw.cudaKernels ? 'cuda-kernel' : 'cpu-kernel-on-copies',
    },
    threads: raw.numThreads,
    cores: os.availableParallelism(),
    blas: raw.blas,
    winograd: raw.winograd,
    blockedConvs: raw.blockedConvs,
    distributed: raw.distributedBackends,
    jpegDecoder: native().jpegDecoder(),
  };
}

/**
 * Sets libtorch's intra-op thread count (defaults to the cores available): an integer in
 * 1..MAX_THREADS (1024).
 */
export function setNumThreads(threads: number): void {
  native().setNumThreads(expectInteger(threads, 'threads', 1, MAX_THREADS));
}

// The one place that loads the native addon and says what it exports.
import * as os from 'node:os';
import * as path from 'node:path';
import type { StoreBinding } from './data/store/reader-binding';
import type { ModelBinding } from './models/model-binding';
import type { LossBinding } from './ops/loss-binding';

export interface NativeInfo {
  torchVersion: string;
  torchSource: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cudaDevices: string[];
  cudaKernels: boolean;
  winograd: boolean;
  blockedConvs: boolean;
  numThreads: number;
  blas: string;
  parallelInfo: string;
}

export interface InfoBinding {
  info(): NativeInfo;
  setNumThreads(threads: number): void;
}

export type NativeAddon = InfoBinding & LossBinding & ModelBinding & StoreBinding;

let addon: NativeAddon | undefined;

/** The loaded addon; loads it on first use and throws one actionable message when it is missing. */
export function native(): NativeAddon {
  if (addon) return addon;
  const root = path.resolve(__dirname, '..', '..');
  // libtorch's OpenMP threads otherwise spin-wait (busy-poll) after every parallel region; with
  // several pools in one process (libuv's workers, the decode pool, BLAS) the spinning threads
  // steal the cores the working ones need. OpenMP reads this once, when the addon loads it.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  try {
    // node-gyp-build finds build/Release (cmake-js or node-gyp) or a prebuild.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(root);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `sphereface: the native addon could not be loaded (${reason}). ` +
        'Build it with `npm run build:native` after installing libtorch (scripts/setup, ' +
        'or LIBTORCH=/path/to/libtorch).',
    );
  }
  addon.setNumThreads(defaultThreads());
  return addon;
}

// Debian's libtorch starts with one intra-op thread; use the cores we are given unless the
// user said otherwise.
function defaultThreads(): number {
  const fromEnv = Number(process.env.SPHEREFACE_NUM_THREADS ?? process.env.OMP_NUM_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return os.availableParallelism();
}

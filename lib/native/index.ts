// The one place that loads the native addons and says what they export: the production addon
// (native(), what the library uses) and the testing addon (nativeTesting(), hooks into single
// layers and the native benchmarks, for tests and benches only; never shipped).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DistBinding } from './dist-binding';
import type { ImageBinding } from './image-binding';
import type { ModelBinding } from './model-binding';
import type { LossBinding } from './loss-binding';
import type { StoreBinding } from './store-binding';
import type { TestingBinding } from './testing-binding';

export interface NativeInfo {
  torchVersion: string;
  torchSource: string;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  cudaDevices: string[];
  cudaKernels: boolean;
  /** Built with the oneDNN conv kernels; `winograd` / `blockedConvs`: this CPU runs them. */
  dnnlKernels: boolean;
  winograd: boolean;
  blockedConvs: boolean;
  /** The distributed backends this build has: 'gloo', 'nccl'; empty for none. */
  distributedBackends: string[];
  numThreads: number;
  blas: string;
  parallelInfo: string;
}

/** What every addon exports: stops its native job queues (the running job finishes). */
export interface ShutdownBinding {
  shutdown(): void;
}

export interface InfoBinding {
  info(): NativeInfo;
  setNumThreads(threads: number): void;
}

export type NativeAddon = InfoBinding &
  LossBinding &
  ModelBinding &
  StoreBinding &
  ImageBinding &
  DistBinding &
  ShutdownBinding;

const root = path.resolve(__dirname, '..', '..', '..');
/**
 * SPHEREFACE_ADDON_DIR: another build folder laid out as build/ is (Release/sphereface.node,
 * testing/sphereface_testing.node), such as the sanitizer build build/asan that
 * `npm run test:asan` loads.
 */
const addonDir = process.env.SPHEREFACE_ADDON_DIR
  ? path.resolve(process.env.SPHEREFACE_ADDON_DIR)
  : undefined;
let addon: NativeAddon | undefined;
let workerAddon: NativeAddon | null | undefined;
let testingAddon: TestingBinding | undefined;

function openAddon(): NativeAddon {
  return addonDir
    ? requireFile<NativeAddon>(path.join(addonDir, 'Release', 'sphereface.node'))
    : // node-gyp-build finds build/Release (cmake-js or node-gyp) or a prebuild.
      requireFile<(dir: string) => NativeAddon>('node-gyp-build')(root);
}

/** The loaded addon; loads it on first use and throws one actionable message when it is missing. */
export function native(): NativeAddon {
  if (addon) return addon;
  addon = load<NativeAddon>(
    openAddon,
    'It needs libtorch: on Debian/Ubuntu `apt install libtorch-dev` (and libdnnl-dev for the ' +
      'fast convs), or a libtorch folder in LIBTORCH=/path/to/libtorch; then build it with ' +
      (fs.existsSync(path.join(root, '.git'))
        ? '`npm run build:native` (or scripts/setup).'
        : "`npm rebuild sphereface` (npm 12 runs a dependency's build script only once " +
          'approved: `npm approve-scripts sphereface` first).'),
  );
  addon.setNumThreads(defaultThreads());
  return addon;
}

let preloading: Promise<void> | undefined;

/**
 * native(), for async callers: the first load maps libtorch's libraries (0.5-1 s of dlopen and
 * relocations), which would block the event loop; a worker thread loads the addon first, after
 * which this thread's load finds the libraries mapped and only registers the addon's classes.
 */
export async function nativeAsync(): Promise<NativeAddon> {
  if (addon) return addon;
  preloading ??= preloadOnWorker();
  await preloading;
  return native();
}

// A failure here is left to native(), which says what to install.
function preloadOnWorker(): Promise<void> {
  setThreadEnvironment(); // before any thread of ours loads OpenMP and OpenBLAS
  const worker = new Worker(
    `require(${JSON.stringify(__filename)}).nativeIfLoads(); require('node:worker_threads').parentPort.postMessage('loaded');`,
    { eval: true },
  );
  return new Promise<void>((resolve) => {
    worker.once('message', () => resolve());
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  }).finally(() => void worker.terminate());
}

/**
 * The addon for a worker thread (the decode workers' JPEG path), or undefined when it does not
 * load (callers then take another way). Loaded as native() loads it, but leaving libtorch's
 * thread count, which is process-wide, to the main thread.
 */
export function nativeIfLoads(): NativeAddon | undefined {
  if (workerAddon === undefined) {
    try {
      workerAddon = load<NativeAddon>(openAddon, '');
    } catch {
      workerAddon = null;
    }
  }
  return workerAddon ?? undefined;
}

/** The testing addon (tests and benches only), built by `npm run build:native` or `pretest`. */
export function nativeTesting(): TestingBinding {
  testingAddon ??= load<TestingBinding>(
    () =>
      requireFile<TestingBinding>(
        path.join(addonDir ?? path.join(root, 'build'), 'testing', 'sphereface_testing.node'),
      ),
    'Build it with `npm run build:native` (or `node scripts/build-native.js --testing`).',
  );
  return testingAddon;
}

function requireFile<T>(file: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as T;
}

/** The environment the native thread pools read once, when the addon first loads them. */
function setThreadEnvironment(): void {
  // libtorch's OpenMP threads otherwise spin-wait (busy-poll) after every parallel region; with
  // several pools in one process (libuv's workers, the decode pool, BLAS) the spinning threads
  // steal the cores the working ones need. OpenMP reads this once, when an addon loads it.
  if (process.env.OMP_WAIT_POLICY === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';
  // OpenBLAS's workers (Debian's libtorch does its matrix products there: the fc layer) likewise
  // spin on sched_yield for about 2^28 cycles after each product; where the two cores are one
  // core's hyperthreads that halves the other thread's speed (sphere64's one-image embed: median
  // call 73-83 ms against 55-63 ms with 2^4). OpenBLAS reads this once, when libtorch loads it.
  if (process.env.OPENBLAS_THREAD_TIMEOUT === undefined) process.env.OPENBLAS_THREAD_TIMEOUT = '4';
}

function load<T extends ShutdownBinding>(open: () => T, remedy: string): T {
  setThreadEnvironment();
  let loaded: T;
  try {
    loaded = open();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`sphereface: the native addon could not be loaded (${reason}). ${remedy}`);
  }
  // process.exit(), an uncaught exception and an unhandled rejection end the process without
  // the environment cleanup hooks that stop the native threads otherwise; a thread still inside
  // libtorch while its static objects are destroyed would crash the exit. 'exit' comes first.
  process.once('exit', () => loaded.shutdown());
  return loaded;
}

// Debian's libtorch starts with one intra-op thread; use the cores we are given unless the
// user said otherwise.
function defaultThreads(): number {
  const fromEnv = Number(process.env.SPHEREFACE_NUM_THREADS ?? process.env.OMP_NUM_THREADS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return os.availableParallelism();
}

// Where a distributed run meets and how long it waits: torchrun's environment variables (RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT), or the same fields given in code, which win.
import { describeReceived } from '../util/describe-received';
import { expectOptions, type OptionKeys } from '../util/option-keys';

export interface DistributedOptions {
  /** This process's rank, 0..worldSize-1 (RANK). */
  rank?: number;
  /** Processes in the run (WORLD_SIZE). */
  worldSize?: number;
  /** Rank on this machine (LOCAL_RANK); default the rank. */
  localRank?: number;
  /** Where rank 0 hosts the rendezvous store (MASTER_ADDR); default 127.0.0.1. */
  masterAddr?: string;
  /** Its port (MASTER_PORT); default 29500, torchrun's. */
  masterPort?: number;
  /**
   * How long the rendezvous and each collective may wait, and how long a silent rank has before
   * it counts as lost; default 5 minutes.
   */
  timeoutMs?: number;
  /** 'gloo' (CPU), 'nccl' (CUDA builds that have it), or 'auto' (default: nccl where it can). */
  backend?: 'auto' | 'gloo' | 'nccl';
  /** Gradients are all-reduced in buckets of about this many bytes; default 25 MiB (DDP's). */
  bucketBytes?: number;
  /** Start each bucket's all-reduce during the backward (default), or all after it. */
  overlap?: boolean;
}

export type DistributedConfig = Required<DistributedOptions>;

const DISTRIBUTED_OPTION_KEYS: OptionKeys<DistributedOptions> = {
  rank: true,
  worldSize: true,
  localRank: true,
  masterAddr: true,
  masterPort: true,
  timeoutMs: true,
  backend: true,
  bucketBytes: true,
  overlap: true,
};

export const DEFAULT_DIST_TIMEOUT_MS = 5 * 60 * 1000;
export const DEFAULT_MASTER_ADDR = '127.0.0.1';
export const DEFAULT_MASTER_PORT = 29500;
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;
const BACKENDS = ['auto', 'gloo', 'nccl'] as const;

type Env = Record<string, string | undefined>;

/** Whether the environment makes this process one worker of several (WORLD_SIZE above 1). */
export function distributedByEnv(env: Env = process.env): boolean {
  return env.WORLD_SIZE !== undefined && env.WORLD_SIZE !== '' && env.WORLD_SIZE !== '1';
}

function integer(
  name: string,
  given: number | undefined,
  variable: string,
  env: Env,
  fallback?: number,
): number {
  const text = env[variable];
  const fromEnv = text === undefined || text === '' ? undefined : Number(text);
  const value = given ?? fromEnv ?? fallback;
  if (value === undefined) {
    throw new RangeError(`distributed: ${name} is not given and ${variable} is not set`);
  }
  if (!Number.isSafeInteger(value)) {
    const source =
      given !== undefined ? `for ${name}` : `in ${variable} (${JSON.stringify(text ?? '')})`;
    throw new RangeError(
      `distributed: expected an integer ${source} but received ${describeReceived(value)}`,
    );
  }
  return value;
}

/** Refuses a name DistributedOptions does not have; `name` is what errors call the options. */
export function checkDistributedOptionNames(options: DistributedOptions, name: string): void {
  expectOptions(options, name, DISTRIBUTED_OPTION_KEYS);
}

/** The options with the environment and the defaults filled in, every field checked. */
export function resolveDistributedOptions(
  options: DistributedOptions = {},
  env: Env = process.env,
): DistributedConfig {
  checkDistributedOptionNames(options, 'options');
  const worldSize = integer('worldSize', options.worldSize, 'WORLD_SIZE', env);
  const rank = integer('rank', options.rank, 'RANK', env);
  if (worldSize < 1) {
    throw new RangeError(`distributed: worldSize (WORLD_SIZE) must be at least 1, got ${worldSize}`);
  }
  if (rank < 0 || rank >= worldSize) {
    throw new RangeError(
      `distributed: rank (RANK) must be in 0..${worldSize - 1} for a world of ${worldSize}, got ${rank}`,
    );
  }
  const localRank = integer('localRank', options.localRank, 'LOCAL_RANK', env, rank);
  if (localRank < 0) {
    throw new RangeError(`distributed: localRank (LOCAL_RANK) must be >= 0, got ${localRank}`);
  }
  const masterAddr = options.masterAddr ?? (env.MASTER_ADDR || DEFAULT_MASTER_ADDR);
  if (typeof masterAddr !== 'string' || masterAddr.length === 0) {
    throw new TypeError(
      `distributed: expected a host name or address for masterAddr but received ${describeReceived(masterAddr)}`,
    );
  }
  const masterPort = integer(
    'masterPort',
    options.masterPort,
    'MASTER_PORT',
    env,
    DEFAULT_MASTER_PORT,
  );
  if (masterPort < 1 || masterPort > 65535) {
    throw new RangeError(
      `distributed: masterPort (MASTER_PORT) must be in 1..65535, got ${masterPort}`,
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIST_TIMEOUT_MS;
  if (!(Number.isSafeInteger(timeoutMs) && timeoutMs > 0)) {
    throw new RangeError(
      `distributed: expected a positive integer for timeoutMs but received ${describeReceived(timeoutMs)}`,
    );
  }
  const backend = options.backend ?? 'auto';
  if (!BACKENDS.includes(backend)) {
    throw new TypeError(
      `distributed: expected one of ${BACKENDS.join(', ')} for backend but received ${describeReceived(backend)}`,
    );
  }
  const bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  if (!(Number.isSafeInteger(bucketBytes) && bucketBytes > 0)) {
    throw new RangeError(
      `distributed: expected a positive integer for bucketBytes but received ${describeReceived(bucketBytes)}`,
    );
  }
  const overlap = options.overlap ?? true;
  if (typeof overlap !== 'boolean') {
    throw new TypeError(
      `distributed: expected a boolean for overlap but received ${describeReceived(overlap)}`,
    );
  }
  return {
    rank,
    worldSize,
    localRank,
    masterAddr,
    masterPort,
    timeoutMs,
    backend,
    bucketBytes,
    overlap,
  };
}

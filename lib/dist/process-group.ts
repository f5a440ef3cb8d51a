// This process's membership of a data-parallel run (native/dist/: c10d's TCPStore rendezvous and
// Gloo or NCCL collectives). A model joins it (Model.joinGroup) to average its gradients over the
// ranks; the Trainer uses it to agree on when to stop and to wait for rank 0's evaluations and
// checkpoints. Collectives must be called in the same order on every rank.
import { native } from '../native';
import type { NativeProcessGroupHandle } from '../native/dist-binding';
import {
  resolveDistributedOptions,
  type DistributedConfig,
  type DistributedOptions,
} from './distributed-options';

const live = new Set<NativeProcessGroupHandle>();
let exitHookSet = false;
// Ranks this process's launcher saw exit (reportLostRank), for the groups joined after too.
const lostRanks: { rank: number; reason: string }[] = [];

/**
 * Rank `rank` of this process's run has exited (its launcher saw it; `reason` says how, e.g.
 * "exited with signal SIGKILL"). Every group of this process, joined or to come, fails the waits
 * that need it at once, naming it, rather than after its heartbeat's silence; ranks on other
 * machines learn it through the rendezvous store.
 */
export function reportLostRank(rank: number, reason: string): void {
  checkLostRank('reportLostRank', rank);
  lostRanks.push({ rank, reason });
  for (const handle of live) handle.reportLost(rank, reason);
}

// On process exit a wait still in progress (a collective whose peers are gone) must give up, or
// the native thread running it would hold the exit up until the timeout. Before the addon's own
// exit hook, which waits for the running native calls.
function abortOnExit(): void {
  if (exitHookSet) return;
  exitHookSet = true;
  process.prependListener('exit', () => {
    for (const handle of live) handle.abort();
  });
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** The backend in use: 'gloo' or 'nccl'. */
  readonly backend: string;
  readonly config: DistributedConfig;
  #handle: NativeProcessGroupHandle | null;

  private constructor(handle: NativeProcessGroupHandle, config: DistributedConfig, backend: string) {
    this.#handle = handle;
    this.config = config;
    this.rank = config.rank;
    this.worldSize = config.worldSize;
    this.localRank = config.localRank;
    this.backend = backend;
  }

  /**
   * Meets the other ranks (options, else torchrun's environment variables). Resolves once every
   * rank has arrived; rejects naming the ranks missing after the timeout.
   */
  static async join(options: DistributedOptions = {}): Promise<ProcessGroup> {
    const config = resolveDistributedOptions(options);
    const handle = new (native().NativeProcessGroup)();
    live.add(handle);
    for (const { rank, reason } of lostRanks) handle.reportLost(rank, reason);
    abortOnExit();
    try {
      const joined = await handle.join({
        rank: config.rank,
        worldSize: config.worldSize,
        masterAddr: config.masterAddr,
        masterPort: config.masterPort,
        timeoutMs: config.timeoutMs,
        backend: config.backend,
      });
      return new ProcessGroup(handle, config, joined.backend);
    } catch (error) {
      live.delete(handle);
      handle.dispose();
      throw error;
    }
  }

  /** Rank 0 writes the run's files; the others compute. */
  get isWriter(): boolean {
    return this.rank === 0;
  }

  /** The element-wise sum (or maximum) of `values` over every rank. */
  async allReduce(values: ArrayLike<number>, op: 'sum' | 'max' = 'sum'): Promise<Float64Array> {
    return this.handle.allReduce(Float64Array.from(values), op);
  }

  /** Whether `flag` is true on any rank. */
  async anyTrue(flag: boolean): Promise<boolean> {
    const [any] = await this.allReduce([flag ? 1 : 0], 'max');
    return any > 0;
  }

  /** Resolves once every rank has called it; waits as long as the missing ranks are alive. */
  async barrier(): Promise<void> {
    return this.handle.barrier();
  }

  /**
   * The end of the run: rank 0 waits until every other rank has left too, so that none finds
   * the store that rank 0's process hosts gone. Then disposes the group.
   */
  async leave(): Promise<void> {
    await this.handle.leave();
    this.dispose();
  }

  /** reportLostRank for this group alone. */
  reportLost(rank: number, reason: string): void {
    checkLostRank('reportLost', rank);
    this.handle.reportLost(rank, reason);
  }

  /** Frees the native group; a wait in progress gives up. A no-op when disposed. */
  dispose(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = null;
    live.delete(handle);
    handle.abort();
    if (handle.inFlight() === 0) handle.dispose();
    // else: the call in flight rejects now, and the finalizer frees the handle
  }

  private get handle(): NativeProcessGroupHandle {
    if (!this.#handle) throw new Error('process group is disposed');
    return this.#handle;
  }

  /** @internal For Model.joinGroup. */
  static nativeHandle(group: ProcessGroup): NativeProcessGroupHandle {
    return group.handle;
  }
}

function checkLostRank(caller: string, rank: number): void {
  if (!Number.isInteger(rank) || rank < 0 || rank >= 2 ** 31) {
    throw new RangeError(`${caller}: rank must be a non-negative integer, got ${rank}`);
  }
}

/** Joins `options`' run unless it is a group already. */
export async function processGroupOf(options: DistributedOptions | ProcessGroup): Promise<{
  group: ProcessGroup;
  owned: boolean;
}> {
  if (options instanceof ProcessGroup) return { group: options, owned: false };
  return { group: await ProcessGroup.join(options), owned: true };
}

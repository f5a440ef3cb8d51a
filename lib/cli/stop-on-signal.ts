// Ctrl-C or a scheduler's SIGTERM during work that can stop cleanly (training, preparing a
// store): the first signal says what happens and asks the work to stop where what it has done
// stays usable; a second exits at once, as a shell reports a process a signal ended.
import { exitCodeOf, onSignals, signalWords } from './signals';
import type { Output } from './output';

/** Work stopped by a signal, after it had put what it finished in order (exit 128 + signal). */
export class InterruptedError extends Error {
  override name = 'InterruptedError';

  constructor(
    readonly signal: NodeJS.Signals,
    kept?: string,
  ) {
    super(`stopped by ${signal}${kept ? `; ${kept}` : ''}`);
  }

  get exitCode(): number {
    return exitCodeOf(this.signal);
  }
}

export interface StopOnSignal {
  /** What the first signal's note says happens now ("stopping after this step"). */
  stopping: string;
  /** Asks the work to stop. */
  stop(signal: NodeJS.Signals): void;
  /**
   * For work that rejects with an AbortError when stopped: what is kept, for the
   * InterruptedError it becomes ("the finished shards are kept; run it again to continue").
   */
  kept?: string;
}

export async function stopOnSignal<T>(
  out: Output,
  how: StopOnSignal,
  work: () => Promise<T>,
): Promise<T> {
  let caught: NodeJS.Signals | undefined;
  const release = onSignals((signal) => {
    caught = signal;
    // The next signal goes to the command's default, which reports it and exits at once.
    release();
    const { what, again } = signalWords(signal);
    out.note(`${what}: ${how.stopping} (${again} again to quit)`);
    how.stop(signal);
  });
  try {
    return await work();
  } catch (error) {
    if (caught && how.kept !== undefined && (error as Error).name === 'AbortError') {
      throw new InterruptedError(caught, how.kept);
    }
    throw error;
  } finally {
    release();
  }
}

// Ctrl-C or SIGTERM while files that belong together are written: the write finishes first, then
// the process exits, so what is on disk is the old set of files or the new one, never a mix.
import { deliver, onSignals } from './signals';

export async function withSignalsHeld<T>(work: () => Promise<T>): Promise<T> {
  let caught: NodeJS.Signals | undefined;
  const release = onSignals((signal) => {
    caught ??= signal;
  });
  try {
    return await work();
  } finally {
    release();
    // Now, as if it came after the write: the command's default reports it and exits.
    if (caught) deliver(caught);
  }
}

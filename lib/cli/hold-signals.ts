// Ctrl-C or SIGTERM while files that belong together are written: the write finishes first, then
// the process exits, so what is on disk is the old set of files or the new one, never a mix.
import { exitCodeOf, HANDLED_SIGNALS } from './signals';

export async function withSignalsHeld<T>(work: () => Promise<T>): Promise<T> {
  let caught: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals) => {
    caught ??= signal;
  };
  for (const signal of HANDLED_SIGNALS) process.on(signal, hold);
  try {
    return await work();
  } finally {
    for (const signal of HANDLED_SIGNALS) process.off(signal, hold);
    if (caught) process.exit(exitCodeOf(caught));
  }
}

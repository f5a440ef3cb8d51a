// Ctrl-C or SIGTERM while files that belong together are written: the write finishes first, then
// the process exits, so what is on disk is the old set of files or the new one, never a mix.
import * as os from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export async function withSignalsHeld<T>(work: () => Promise<T>): Promise<T> {
  let caught: NodeJS.Signals | undefined;
  const hold = (signal: NodeJS.Signals) => {
    caught ??= signal;
  };
  for (const signal of SIGNALS) process.on(signal, hold);
  try {
    return await work();
  } finally {
    for (const signal of SIGNALS) process.off(signal, hold);
    // As a shell reports a process the signal ended: 128 + its number.
    if (caught) process.exit(128 + os.constants.signals[caught]);
  }
}

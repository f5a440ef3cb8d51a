// How the CLI speaks of the signals it handles (Ctrl-C's SIGINT, a scheduler's SIGTERM), and the
// exit code a process that one ended gives: 128 + its number, as a shell reports it.
import * as os from 'node:os';

/** Those a run stops on cleanly: Ctrl-C, and a scheduler's stop. */
export const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + os.constants.signals[signal];
}

type SignalHandler = (signal: NodeJS.Signals) => void;

// One process listener per signal, passing it to the handler added last: work that stops
// cleanly (a training run, a store's preparation) overrides the command's default, which
// reports the interruption and exits.
const handlers: SignalHandler[] = [];
const dispatch = (signal: NodeJS.Signals) => deliver(signal);

/** Routes the handled signals to `handler`, over those added before it, until the release. */
export function onSignals(handler: SignalHandler): () => void {
  if (handlers.length === 0) for (const signal of HANDLED_SIGNALS) process.on(signal, dispatch);
  handlers.push(handler);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    handlers.splice(handlers.lastIndexOf(handler), 1);
    if (handlers.length === 0) for (const signal of HANDLED_SIGNALS) process.off(signal, dispatch);
  };
}

/** Hands `signal` to the latest handler; with none, exits as the signal would have ended us. */
export function deliver(signal: NodeJS.Signals): void {
  const handler = handlers.at(-1);
  if (handler) handler(signal);
  else process.exit(exitCodeOf(signal));
}

/** The note's words: what happened ('interrupted' for Ctrl-C), and what to send again. */
export function signalWords(signal: NodeJS.Signals): { what: string; again: string } {
  return signal === 'SIGINT'
    ? { what: 'interrupted', again: 'Ctrl-C' }
    : { what: signal, again: signal };
}

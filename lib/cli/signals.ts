// How the CLI speaks of the signals it handles (Ctrl-C's SIGINT, a scheduler's SIGTERM), and the
// exit code a process that one ended gives: 128 + its number, as a shell reports it.
import * as os from 'node:os';

/** Those a run stops on cleanly: Ctrl-C, and a scheduler's stop. */
export const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + os.constants.signals[signal];
}

/** The note's words: what happened ('interrupted' for Ctrl-C), and what to send again. */
export function signalWords(signal: NodeJS.Signals): { what: string; again: string } {
  return signal === 'SIGINT'
    ? { what: 'interrupted', again: 'Ctrl-C' }
    : { what: signal, again: signal };
}

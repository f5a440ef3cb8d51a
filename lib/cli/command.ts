// The shape every `sphereface <command>` implements; lib/cli/main.ts dispatches to them.
import type { ParseArgsConfig } from 'node:util';
import type { Output } from './output';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type ParsedValues = Record<string, string | boolean | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Usage text printed by `--help`, after the summary. */
  usage: string;
  options: OptionSpec;
  /**
   * Runs the command, printing only through `out`; returns the exit code. Throw a UsageError for
   * bad arguments.
   */
  run(values: ParsedValues, positionals: string[], out: Output): Promise<number>;
}

/** Bad command-line input: printed without a stack trace, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options every command takes. */
export const commonOptions: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
};

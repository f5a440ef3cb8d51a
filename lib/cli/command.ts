// The shape every `sphereface <command>` implements; lib/cli/main.ts dispatches to them.
import type { ParseArgsConfig } from 'node:util';
import type { Output } from './output';

/** One command-line option: how it parses, and its line in --help. */
export interface OptionInfo {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's name in --help (string options), e.g. 'DIR' or 'N'. */
  value?: string;
  description: string;
  /** The default as --help shows it; the code reads the same value from the same place. */
  default?: string | number;
  /** May be given more than once (the values in order). */
  multiple?: boolean;
}

export type Options = Record<string, OptionInfo>;
export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** Synopsis lines printed by `--help` after 'Usage: ', and any notes after the options. */
  usage: string;
  notes?: string;
  options: Options;
  /**
   * Runs the command, printing only through `out`; returns the exit code. Throw a UsageError for
   * bad arguments.
   */
  run(values: ParsedValues, positionals: string[], out: Output): Promise<number>;
}

/** Bad command-line input: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A library check of a flag's value, its error a usage error in the CLI's terms. */
export function checkAsUsage(check: () => unknown, inFlagTerms = (message: string) => message) {
  try {
    check();
  } catch (error) {
    throw new UsageError(inFlagTerms((error as Error).message));
  }
}

/** Options every command takes. */
export const commonOptions: Options = {
  help: { type: 'boolean', short: 'h', description: 'show this help and exit' },
  json: {
    type: 'boolean',
    description:
      'print the result as one JSON line on stdout (an error: one JSON object on stderr)',
  },
  verbose: { type: 'boolean', description: 'print stack traces with errors' },
};

/** Every option a command takes: its own and the common ones. */
export function optionsOf(command: Command): Options {
  return { ...command.options, ...commonOptions };
}

/** The options as node:util's parseArgs takes them. */
export function parseArgsConfig(options: Options): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(options).map(([name, { type, short, multiple }]) => [
      name,
      { type, ...(short ? { short } : {}), ...(multiple ? { multiple } : {}) },
    ]),
  );
}

// `sphereface <command> [options]`: dispatch, --help, --version, and the one error shape: a
// message on stderr (one JSON object under --json), exit code 2 for bad usage and 1 for a
// failure, a stack trace only with --verbose.
import { parseArgs } from 'node:util';
import { BadImageError } from '../data/bad-image-error';
import { version } from '../version';
import {
  optionsOf,
  parseArgsConfig,
  UsageError,
  type Command,
  type Options,
  type ParsedValues,
} from './command';
import { commands } from './commands';
import { commandHelp, commandHelpJson, topLevelHelp, topLevelHelpJson } from './help';
import { nearest } from '../util/nearest-name';
import { isLaunchedOtherRank } from './launcher';
import { InterruptedError } from './stop-on-signal';
import { dropWritesToClosedPipes, Output, type OutputStreams } from './output';
import { onSignals } from './signals';

// parseArgs' messages, turned into ones that say what to do.
function usageError(error: NodeJS.ErrnoException, command: Command): UsageError {
  const more = `Run \`sphereface ${command.name} --help\` for its options.`;
  const unknown = /Unknown option '(-{1,2})([^']+)'/.exec(error.message);
  if (unknown) {
    const guess = nearest(unknown[2], Object.keys(optionsOf(command)));
    const hint = guess ? `; did you mean '--${guess}'?` : '.';
    return new UsageError(`Unknown option '${unknown[1]}${unknown[2]}'${hint} ${more}`);
  }
  const ambiguous = /Option '(-{1,2}[^']+)' argument is ambiguous/.exec(error.message);
  if (ambiguous) {
    const flag = ambiguous[1];
    return new UsageError(
      `'${flag}' takes a value but the next argument starts with '-'; give it as '${flag}=VALUE'. ${more}`,
    );
  }
  // Node's messages run on over several lines and sentences: the first says what is wrong.
  const first = error.message.split('\n')[0].split('. ')[0].replace(/\.$/, '');
  return new UsageError(`${first}. ${more}`);
}

/**
 * Refuses a flag that takes one value, given twice (`--epochs 2 ... --epochs 4`): parseArgs keeps
 * the last without a word, and a sweep's script would run what it did not mean (a switch given
 * twice means what it means once); and an empty value (`--out ""`), which no flag takes.
 */
function checkFlagValues(
  tokens: readonly { kind: string; name?: string; value?: string }[],
  options: Options,
  command: Command,
): void {
  const seen = new Map<string, string | undefined>();
  for (const token of tokens) {
    const name = token.kind === 'option' ? token.name : undefined;
    const option = name === undefined ? undefined : options[name];
    if (!name || !option || option.type !== 'string') continue;
    if (token.value === '') throw new UsageError(`--${name} is empty; it needs a value`);
    if (option.multiple) continue;
    if (seen.has(name)) {
      throw new UsageError(
        `--${name} is given twice (${seen.get(name)}, then ${token.value}); give it once. ` +
          `Run \`sphereface ${command.name} --help\` for its options.`,
      );
    }
    seen.set(name, token.value);
  }
}

/** Undecodable images: what to do in the command's flags, not the library's options. */
function inFlagTerms(error: Error, command: Command | undefined): Error {
  if (!(error instanceof BadImageError) || !command) return error;
  return error.withTerms({
    // verify, embed and gallery take no --skip-bad-images: their images are the user's choice.
    skip:
      'skip-bad-images' in command.options ? 'pass --skip-bad-images to leave them out' : undefined,
    limit: '--max-pixels',
  });
}

export async function main(argv: string[], streams?: OutputStreams): Promise<number> {
  // `--json` may come first (`sphereface --json --version`): the command is the next argument.
  const [name, ...rest] = argv[0] === '--json' ? [...argv.slice(1), '--json'] : argv;
  if (!streams) dropWritesToClosedPipes();
  const out = new Output(argv.includes('--json'), streams);
  const stdout = (streams ?? process).stdout;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    // `sphereface help train` is `sphereface train --help`.
    const topics = rest.filter((arg) => arg !== '--json');
    const asked =
      name === 'help' && topics.length === 1 && commands.find((c) => c.name === topics[0]);
    if (out.json) {
      stdout.write(
        `${JSON.stringify(asked ? commandHelpJson(asked) : topLevelHelpJson(commands))}\n`,
      );
    } else {
      stdout.write(`${asked ? commandHelp(asked) : topLevelHelp(commands)}\n`);
    }
    return 0;
  }
  if (name === '--version' || name === '-v') {
    stdout.write(out.json ? `${JSON.stringify({ version })}\n` : `${version}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (!command) {
      const guess = nearest(
        name,
        commands.map((c) => c.name),
      );
      throw new UsageError(
        `unknown command '${name}'${guess ? `; did you mean '${guess}'?` : '.'} ` +
          'Run `sphereface --help` for the commands.',
      );
    }
    let parsed;
    const options = optionsOf(command);
    try {
      parsed = parseArgs({
        args: rest,
        options: parseArgsConfig(options),
        allowPositionals: true,
        strict: true,
        tokens: true,
      });
    } catch (error) {
      throw usageError(error as NodeJS.ErrnoException, command);
    }
    checkFlagValues(parsed.tokens, options, command);
    if (parsed.values.help) {
      const help = out.json ? JSON.stringify(commandHelpJson(command)) : commandHelp(command);
      stdout.write(`${help}\n`);
      return 0;
    }
    // Ctrl-C or SIGTERM where no work of the command stops cleanly: said as an error, then exit.
    const release = onSignals((signal) =>
      process.exit(reportError(new InterruptedError(signal), command, out, rest)),
    );
    try {
      return await command.run(parsed.values as ParsedValues, parsed.positionals, out);
    } finally {
      release();
    }
  } catch (error) {
    return reportError(error, command, out, rest);
  }
}

/** Prints the error that ends a command, in the one error shape; returns the exit code. */
function reportError(
  error: unknown,
  command: Command | undefined,
  out: Output,
  args: readonly string[],
): number {
  const err = inFlagTerms(error instanceof Error ? error : new Error(String(error)), command);
  const usage = err instanceof UsageError;
  const interrupted = err instanceof InterruptedError;
  const code = interrupted ? err.exitCode : usage ? 2 : 1;
  if (isLaunchedOtherRank()) {
    const rank = `rank ${process.env.RANK}: `;
    const message = err.message.startsWith(rank) ? err.message : rank + err.message;
    out.note(`sphereface ${command?.name}: ${message}`);
    return code;
  }
  out.error(`sphereface${command ? ` ${command.name}` : ''}: ${err.message}`, {
    kind: usage ? 'usage' : interrupted ? 'interrupted' : 'failure',
    stack: args.includes('--verbose') && !interrupted ? err.stack : undefined,
  });
  return code;
}

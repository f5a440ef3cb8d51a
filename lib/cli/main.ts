// `sphereface <command> [options]`: dispatch, --help, and the one error shape
// (message on stderr, exit code 1, stack trace only with --verbose).
import { parseArgs } from 'node:util';
import { commonOptions, UsageError, type Command } from './command';
import { commands } from './commands';
import { Output, type OutputStreams } from './output';

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: sphereface <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `sphereface <command> --help` for its options.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const flags = Object.entries({ ...command.options, ...commonOptions }).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '';
    const value = spec.type === 'string' ? ' <value>' : '';
    return `  ${short}--${name}${value}`;
  });
  return [`${command.summary}`, '', `Usage: ${command.usage}`, '', 'Options:', ...flags].join('\n');
}

export async function main(argv: string[], streams?: OutputStreams): Promise<number> {
  const [name, ...rest] = argv;
  const out = new Output(rest.includes('--json'), streams);
  const say = (text: string) => (streams ?? process).stdout.write(`${text}\n`);
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    say(topLevelHelp());
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  const verbose = rest.includes('--verbose');
  try {
    if (!command) throw new UsageError(`unknown command '${name}'\n\n${topLevelHelp()}`);
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...command.options, ...commonOptions },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      throw new UsageError(
        `${(error as Error).message}\nRun \`sphereface ${name} --help\` for its options.`,
      );
    }
    if (parsed.values.help) {
      say(commandHelp(command));
      return 0;
    }
    return await command.run(
      parsed.values as Record<string, string | boolean | undefined>,
      parsed.positionals,
      out,
    );
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    out.note(`sphereface${command ? ` ${command.name}` : ''}: ${err.message}`);
    if (verbose && err.stack) out.note(err.stack);
    return 1;
  }
}

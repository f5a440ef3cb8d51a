// --help text: the commands, and each command's options with their descriptions and defaults;
// and the nearest known name for a mistyped one.
import { optionsOf, type Command, type OptionInfo } from './command';

export function topLevelHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: sphereface <command> [options]',
    '       sphereface --version',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `sphereface <command> --help` for its options.',
  ].join('\n');
}

function flagText(name: string, info: OptionInfo): string {
  const short = info.short ? `-${info.short}, ` : '    ';
  const value = info.type === 'string' ? ` ${info.value ?? 'VALUE'}` : '';
  const again = info.multiple ? ' ...' : '';
  return `${short}--${name}${value}${again}`;
}

/** The commands as `--help --json` gives them: one object. */
export function topLevelHelpJson(commands: readonly Command[]): object {
  return { commands: commands.map(({ name, summary }) => ({ name, summary })) };
}

/** A command's help as `<command> --help --json` gives it: the same facts as the text. */
export function commandHelpJson(command: Command): object {
  const options = Object.entries(optionsOf(command)).map(([name, info]) => ({
    name,
    ...info,
  }));
  const { name, summary, usage, notes } = command;
  return {
    command: name,
    summary,
    usage: usage.split('\n').map((line) => line.trim()),
    options,
    notes,
  };
}

export function commandHelp(command: Command): string {
  const entries = Object.entries(optionsOf(command));
  const width = Math.min(32, Math.max(...entries.map(([n, i]) => flagText(n, i).length)));
  const lines = entries.map(([name, info]) => {
    const flag = flagText(name, info);
    const text =
      info.default === undefined
        ? info.description
        : `${info.description} (default: ${info.default})`;
    return flag.length > width
      ? `  ${flag}\n  ${' '.repeat(width)}  ${text}`
      : `  ${flag.padEnd(width)}  ${text}`;
  });
  return [
    command.summary,
    '',
    `Usage: ${command.usage}`,
    '',
    'Options:',
    ...lines,
    ...(command.notes ? ['', command.notes] : []),
  ].join('\n');
}

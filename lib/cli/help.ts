// --help text: the commands, and each command's options with their descriptions and defaults;
// and the nearest known name for a mistyped one.
import { commonOptions, type Command, type OptionInfo } from './command';

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

export function commandHelp(command: Command): string {
  const entries = Object.entries({ ...command.options, ...commonOptions });
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

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** The known name closest to `name`, when close enough to be a typo. */
export function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = candidate.startsWith(name) && name.length >= 3 ? 1 : editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

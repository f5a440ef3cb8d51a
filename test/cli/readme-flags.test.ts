// Every flag the README gives a command is one that command takes: its CLI table, its
// training-flags paragraph, and each `sphereface CMD --flag ...` it shows. A renamed or
// removed flag that the README still shows fails here, naming the README line.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { optionsOf } from '../../lib/cli/command';
import { commands } from '../../lib/cli/commands';

const README = path.resolve(__dirname, '..', '..', '..', 'README.md');

interface Mention {
  line: number;
  command: string;
  flag: string;
}

const FLAG = /(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)((?:\/-[a-z]+)*)/g;

/** The flags in a text; `--lambda-base/-gamma` is --lambda-base and --lambda-gamma. */
function flagsIn(text: string): string[] {
  return [...text.matchAll(FLAG)].flatMap(([, name, more]) => {
    const stem = name.slice(0, name.lastIndexOf('-') + 1);
    const siblings = more ? more.split('/-').slice(1) : [];
    return [name, ...siblings.map((s) => stem + s)];
  });
}

function mentions(lines: string[]): Mention[] {
  const found: Mention[] = [];
  const add = (line: number, command: string, text: string) =>
    flagsIn(text).forEach((flag) => found.push({ line, command, flag }));
  const isCommand = (name: string) => commands.some((c) => c.name === name);
  lines.forEach((text, i) => {
    // A command line, in a code block or inline (`eval --save-threshold` too): its flags up to
    // the closing backtick.
    let rest = text;
    for (const [span, , command, flags] of text.matchAll(/(sphereface |`)([a-z]+)( [^`]*)/g)) {
      if (!isCommand(command)) continue;
      add(i + 1, command, flags);
      rest = rest.replace(span, '');
    }
    // A row of the CLI table: | `command` | its flags |
    const row = /^\| `([a-z]+)` +\|(.*)$/.exec(rest);
    if (row) add(i + 1, row[1], row[2]);
  });
  // The flags that train and demo share, then what the paragraph says of train's alone.
  const start = lines.findIndex((l) => l.startsWith('Training flags (`train` and `demo`)'));
  const paragraph = lines.slice(start, lines.indexOf('', start)).join('\n');
  const trainAlone = paragraph.indexOf('`train` defaults to');
  for (const command of ['train', 'demo']) add(start + 1, command, paragraph.slice(0, trainAlone));
  add(start + 1, 'train', paragraph.slice(trainAlone));
  return found;
}

describe("the README's command-line flags", () => {
  const lines = fs.readFileSync(README, 'utf8').split('\n');
  const all = mentions(lines);

  it('are found in the table, the training paragraph and the command lines', () => {
    const commandsShown = new Set(all.map((m) => m.command));
    expect([...commandsShown]).to.include.members(['train', 'prepare', 'eval', 'embed', 'demo']);
    expect(all.length).to.be.at.least(100);
  });

  it('are each taken by the command they are given to', () => {
    const unknown = all
      .filter((m) => !(m.flag in optionsOf(commands.find((c) => c.name === m.command)!)))
      .map((m) => `README.md:${m.line}: sphereface ${m.command} --${m.flag}`);
    expect([...new Set(unknown)]).to.deep.equal([]);
  });
});

// Property tests of the command line: random argument lists built from each command's own
// options, with values drawn from random strings, huge numbers and awkward paths (missing, empty,
// junk bytes, a folder, a FIFO). Each run must end with exit code 0, 1 or 2, and a failure must
// be one message (one JSON object under --json) naming what was wrong, never a stack trace or
// an internal TypeError. Commands that would run for minutes on valid input (bench, demo,
// synth) always get an unknown option as well, so only their parsing is exercised.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OptionInfo } from '../../lib/cli/command';
import { commands } from '../../lib/cli/commands';
import { createModel } from '../../lib/models/model';
import { tempDir } from '../data/helpers';
import { sphereMain } from '../cli/cli-helpers';
import { attempt, fieldValue, hugeNumber, runs, settings } from './property';

/** A case may load a model and start decode workers. */
const CLI_CASE_MS = 10_000;
/** The options each command cannot run without: always given, so most cases get past them. */
const REQUIRED: Record<string, string[]> = {
  train: ['data'],
  eval: ['model', 'lfw', 'pairs'],
  embed: ['model', 'out'],
  verify: ['model'],
};
const LONG_RUNNING = new Set(['bench', 'demo', 'synth']);

/** Whether `message` names `value` as a word of its own (not as part of another word). */
function mentions(message: string, value: string): boolean {
  if (value === '') return false;
  const edge = (c: string | undefined) => c === undefined || /[\s'":,()]/.test(c);
  for (let at = message.indexOf(value); at >= 0; at = message.indexOf(value, at + 1)) {
    if (edge(message[at - 1]) && edge(message[at + value.length])) return true;
  }
  return false;
}

describe('sphereface arguments at random (fast-check)', function () {
  this.timeout(600_000);
  const dir = tempDir('sphereface-property-cli-');
  const paths: Record<string, string> = {
    missing: path.join(dir, 'missing', 'x'),
    empty: path.join(dir, 'empty.txt'),
    junk: path.join(dir, 'junk.bin'),
    folder: path.join(dir, 'folder'),
    fifo: path.join(dir, 'fifo.jpg'),
    model: path.join(dir, 'tiny.sfm'),
    out: path.join(dir, 'out'),
  };

  before(async () => {
    fs.writeFileSync(paths.empty, '');
    fs.writeFileSync(
      paths.junk,
      Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff)),
    );
    fs.mkdirSync(paths.folder);
    execFileSync('mkfifo', [paths.fifo]);
    const model = await createModel({
      arch: 'sphere-cnn4',
      classes: 3,
      head: { kind: 'sphere', m: 4 },
      seed: 1,
    });
    await model.save(paths.model);
    model.dispose();
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const pathValue = () => fc.constantFrom(...Object.values(paths));

  /** A value for an option, mostly of the kind its --help names (a path, a choice, a number). */
  const value = (hint = '') => {
    const noise = { arbitrary: fieldValue, weight: 1 };
    if (/^(DIR|FILE|PREFIX)$/.test(hint))
      return fc.oneof({ arbitrary: pathValue(), weight: 4 }, noise);
    if (hint.includes('|')) {
      const choices = hint.split('|').map((c) => (c === 'Nit' ? '10it' : c));
      return fc.oneof({ arbitrary: fc.constantFrom(...choices), weight: 4 }, noise);
    }
    const ints = fc.integer({ min: 0, max: 40 }).map(String);
    return fc.oneof(
      { arbitrary: ints, weight: 3 },
      {
        arbitrary: fc.array(ints, { minLength: 1, maxLength: 3 }).map((l) => l.join(',')),
        weight: 1,
      },
      { arbitrary: fc.double({ min: -2, max: 2, noNaN: true }).map(String), weight: 1 },
      { arbitrary: hugeNumber, weight: 1 },
      noise,
    );
  };

  /**
   * One option with a value. Written as people write it (`--name value`, or `--name=-1` for a
   * value that starts with '-'), or, in a noisy list, also without its value.
   */
  const option = (name: string, info: OptionInfo, noisy: boolean) => {
    if (info.type === 'boolean') return fc.constant([`--${name}`]);
    const written = value(info.value).map((v) =>
      v.startsWith('-') ? [`--${name}=${v}`] : [`--${name}`, v],
    );
    return noisy ? fc.oneof(written, fc.constant([`--${name}`])) : written;
  };

  // A command with a random subset of its options (each at most once, as people write them);
  // a noisy list also gets an extra flag, an unknown option or stray arguments.
  const argv = fc.tuple(fc.constantFrom(...commands), fc.boolean()).chain(([command, noisy]) => {
    const required = REQUIRED[command.name] ?? [];
    const options = Object.entries(command.options)
      .filter(([name]) => !required.includes(name))
      .map(([name, info]) => option(name, info, noisy));
    const needed = required.map((name) => option(name, command.options[name], noisy));
    const positional = fc.oneof(
      pathValue(),
      fieldValue.filter((v) => !v.startsWith('-')),
    );
    const extra = fc.oneof(
      fc.constantFrom(['--json'], ['--verbose'], ['--help']),
      fc.string({ maxLength: 12 }).map((s) => [`--${s}`]),
      positional.map((p) => [p]),
    );
    const takesFiles = command.name === 'verify' || command.name === 'embed';
    return fc
      .tuple(
        fc.tuple(...needed),
        fc
          .shuffledSubarray(options, { maxLength: Math.min(5, options.length) })
          .chain((chosen) => fc.tuple(...chosen)),
        noisy ? fc.array(extra, { maxLength: 2 }) : fc.constant([]),
        fc.array(positional, { maxLength: noisy || takesFiles ? 2 : 0 }),
        fc.boolean(),
      )
      .map(([must, opts, more, positionals, json]) => {
        const args = [command.name, ...must.flat(), ...opts.flat(), ...more.flat()];
        if (json) args.push('--json');
        if (positionals.length) args.push('--', ...positionals);
        if (LONG_RUNNING.has(command.name)) args.splice(1, 0, '--no-such-option');
        return args;
      });
  });

  const anything = fc.array(fc.oneof(fieldValue, fc.constantFrom('--json', '-h', '--', '-')), {
    maxLength: 5,
  });

  it(`exits 0, 1 or 2 with one clean message for ${runs(600)} random argument lists`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ arbitrary: argv, weight: 9 }, { arbitrary: anything, weight: 1 }),
        async (args) => {
          const run = await attempt('', () => sphereMain(args), CLI_CASE_MS);
          expect(run.error, 'main() never throws').to.equal(undefined);
          const { code, stderr } = run.ok!;
          expect([0, 1, 2]).to.include(code);
          if (code === 0) return;
          expect(stderr, 'a message').to.not.equal('');
          expect(stderr).to.not.match(
            /TypeError|ReferenceError|Cannot read propert|undefined is not/,
          );
          if (args.includes('--verbose')) return;
          // The error is the last thing printed: one line, or one JSON object under --json.
          const last = stderr.split('\n').at(-1)!;
          const message = args.includes('--json')
            ? (JSON.parse(last) as { error: string }).error
            : last;
          expect(message).to.match(/^sphereface/);
          expect(message, 'no stack trace').to.not.match(/\n\s+at /);
          // It names what was wrong: an option, a command, an argument or one of the paths given.
          const named =
            /--[a-z]|command|argument|image/.test(message) ||
            args.slice(1).some((a) => mentions(message, a.replace(/^--[^=]*=/, '')));
          expect(named, `names the problem: ${message}`).to.equal(true);
        },
      ),
      { ...settings(runs(600)), timeout: 30_000 },
    );
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sphereMain } from '../cli/cli-helpers';

/** Runs `sphereface ...args` in-process, capturing what it prints. */
async function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const { code, stdout, stderr } = await sphereMain(args);
  return { code, out: stdout, err: stderr };
}

describe('sphereface synth', () => {
  let root: string;
  before(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-cli-'))));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('prints its options with --help', async () => {
    const { code, out } = await cli('synth', '--help');
    expect(code).to.equal(0);
    for (const flag of ['--out', '--identities', '--images', '--seed', '--json']) {
      expect(out).to.contain(flag);
    }
  });

  it('writes a set and describes it as JSON', async () => {
    const out = path.join(root, 'set');
    const args = ['synth', '--out', out, '--identities', '2', '--images', '2', '--seed', '3'];
    const extra = ['--held-out-identities', '4', '--held-out-images', '2', '--folds', '2'];
    const result = await cli(...args, ...extra, '--pairs-per-fold', '2', '--json');
    expect(result.code, result.err).to.equal(0);
    const summary = JSON.parse(result.out);
    expect(summary.settings).to.include({ identities: 2, images: 2, seed: 3, folds: 2 });
    expect(fs.readdirSync(path.join(out, 'train'))).to.have.length(2);
    expect(fs.readFileSync(path.join(out, 'pairs.txt'), 'utf8').split('\n')[0]).to.equal('2\t2');
  });

  const bad: [string, string[], RegExp][] = [
    ['no --out', ['--identities', '2', '--images', '2'], /--out/],
    ['no --identities', ['--out', 'x', '--images', '2'], /--identities is required/],
    [
      'a word for --identities',
      ['--out', 'x', '--identities', 'ten', '--images', '2'],
      /--identities.*'ten'/,
    ],
    ['zero images', ['--out', 'x', '--identities', '2', '--images', '0'], /--images.*'0'/],
    [
      'a fractional seed',
      ['--out', 'x', '--identities', '2', '--images', '2', '--seed', '1.5'],
      /--seed/,
    ],
    [
      'one held-out image',
      ['--out', 'x', '--identities', '2', '--images', '2', '--held-out-images', '1'],
      /--held-out-images/,
    ],
    [
      'variation above 1',
      ['--out', 'x', '--identities', '2', '--images', '2', '--variation', '3'],
      /--variation/,
    ],
    [
      'folds that cannot be filled',
      [
        '--out',
        'x',
        '--identities',
        '2',
        '--images',
        '2',
        '--held-out-identities',
        '4',
        '--held-out-images',
        '2',
        '--folds',
        '2',
        '--pairs-per-fold',
        '50',
      ],
      /--pairs-per-fold = 50\); lower --pairs-per-fold or --folds, or raise --held-out-identities or --held-out-images$/,
    ],
    [
      'a count past its limit, named as its flag',
      ['--out', 'x', '--identities', '100001', '--images', '2'],
      /^sphereface synth: Expected an integer in 1\.\.100000 for --identities but received 100001/,
    ],
    [
      'an unknown option',
      ['--out', 'x', '--identities', '2', '--images', '2', '--colour'],
      /colour/,
    ],
    ['a stray argument', ['--out', 'x', '--identities', '2', '--images', '2', 'extra'], /extra/],
  ];
  for (const [what, args, message] of bad) {
    it(`fails with exit code 2 (bad usage) and a message for ${what}`, async () => {
      const cwd = process.cwd();
      process.chdir(root);
      try {
        const { code, err } = await cli('synth', ...args);
        expect(code).to.equal(2);
        expect(err).to.match(message);
        expect(err).to.not.match(/\n\s+at /); // no stack trace without --verbose
        expect(fs.existsSync(path.join(root, 'x', 'synth.json'))).to.equal(false);
      } finally {
        process.chdir(cwd);
      }
    });
  }
});

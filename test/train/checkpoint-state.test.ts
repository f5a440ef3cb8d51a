// A checkpoint's state.json as a resume reads it: each field is checked, and a wrong one is
// named with the file.
import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCheckpoint, writeCheckpoint } from '../../lib/train/checkpoint';
import { checkpointStateOf, FakeModel } from './fakes';

async function checkpointDir(): Promise<{ dir: string; state: Record<string, unknown> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-state-'));
  const model = new FakeModel(2);
  const written = await writeCheckpoint(
    root,
    model,
    checkpointStateOf(model, 5, {
      epoch: 1,
      batch: 0,
      epochTotals: { lossSum: 1, accuracySum: 0.5, batches: 2, images: 8 },
      loader: {
        seed: 1,
        shuffle: true,
        dropLast: false,
        centerCrop: [6, 6],
        randomCrop: { height: 4, width: 4, padding: 1 },
        flip: 0.5,
      },
    }),
    0,
  );
  const state = JSON.parse(await fs.readFile(path.join(written.dir, 'state.json'), 'utf8'));
  return { dir: written.dir, state };
}

describe('checkpoint state.json', () => {
  it('reads back what was written', async () => {
    const { dir, state } = await checkpointDir();
    expect((await readCheckpoint(dir)).state).to.deep.equal(state);
  });

  it('names the file and the field that is wrong', async () => {
    const { dir, state } = await checkpointDir();
    const file = path.join(dir, 'state.json');
    const loader = state.loader as Record<string, unknown>;
    const cases: [string, unknown, RegExp][] = [
      ['iteration', '5', /iteration but found '5'/],
      ['iteration', -1, /integer >= 0 for iteration but found -1/],
      ['batch', 1.5, /batch but found 1.5/],
      ['epochTotals', null, /expected an object for epochTotals but found null/],
      ['runId', '', /non-empty string for runId/],
      ['lr', 'NaN', /finite number for lr but found 'NaN'/],
      ['schedule', { kind: 'step' }, /schedule\.kind/],
      ['head', { kind: 'sphere', m: 9 }, /head\.m/],
      ['classes', 0, /integer >= 1 for classes/],
      ['totalIterations', 1e300, /totalIterations but found 1e\+300/],
      ['loader', [], /expected an object for loader but found/],
      ['loader', { ...loader, flip: '0.5' }, /finite number for loader\.flip but found '0\.5'/],
      ['loader', { ...loader, shuffle: 1 }, /true or false for loader\.shuffle/],
      [
        'loader',
        { ...loader, centerCrop: [6] },
        /false or \[height, width\] for loader\.centerCrop/,
      ],
      [
        'loader',
        { ...loader, randomCrop: true },
        /an object for loader\.randomCrop but found true/,
      ],
      [
        'loader',
        { ...loader, randomCrop: { height: 4, width: 4, padding: -1 } },
        /integer >= 0 for loader\.randomCrop\.padding but found -1/,
      ],
    ];
    for (const [field, value, pattern] of cases) {
      await fs.writeFile(file, JSON.stringify({ ...state, [field]: value }));
      let error: Error | undefined;
      await readCheckpoint(dir).catch((e: Error) => (error = e));
      expect(error?.message, field).to.contain(`checkpoint state ${file}: `);
      expect(error?.message, field).to.match(pattern);
    }
  });

  it('refuses a state.json far larger than any state', async () => {
    const { dir, state } = await checkpointDir();
    const file = path.join(dir, 'state.json');
    await fs.writeFile(file, JSON.stringify({ ...state, padding: 'x'.repeat(2 << 20) }));
    let error: Error | undefined;
    await readCheckpoint(dir).catch((e: Error) => (error = e));
    expect(error?.message).to.match(/state\.json is \d+ bytes; expected at most 1048576/);
  });
});

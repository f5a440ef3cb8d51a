import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../lib/models/model';
import { latestCheckpoint } from '../../lib/train/checkpoint';
import { Trainer } from '../../lib/train/trainer';
import { recordLosses, smallRun } from './small-run';

// The real net: a run stopped, checkpointed, reloaded and resumed takes exactly the steps of an
// uninterrupted one (model weights, momentum, loader position, schedules and lambda restored).
describe('Trainer with a real model', () => {
  it('resumes to the same loss sequence as an uninterrupted run', async () => {
    const { loader, model: make, options, steps } = smallRun();

    const straight: number[] = [];
    const fullModel = await make('cpu');
    const full = new Trainer({ model: fullModel, data: loader(), ...options });
    recordLosses(full, straight);
    await full.fit();
    fullModel.dispose();

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-resume-'));
    const resumed: number[] = [];
    const firstModel = await make('cpu');
    const first = new Trainer({ model: firstModel, data: loader(), outDir: dir, ...options });
    recordLosses(first, resumed);
    let disposing: Error | undefined;
    first.on('batch', (b) => {
      if (b.iteration !== 2) return;
      first.stop(); // mid-epoch 1 of 3 batches
      // No call runs between steps, but the stop's checkpoint still needs the model.
      try {
        firstModel.dispose();
      } catch (error) {
        disposing = error as Error;
      }
    });
    await first.fit();
    expect(disposing?.message).to.equal(
      "dispose() called while a Trainer's fit() is using this model; await it first",
    );
    firstModel.dispose();
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    expect(checkpoint?.state.iteration).to.equal(2);
    const secondModel = await loadModel(checkpoint!.modelPath, { device: 'cpu' });
    const second = new Trainer({
      model: secondModel,
      data: loader(),
      outDir: dir,
      resume: checkpoint,
      ...options,
    });
    recordLosses(second, resumed);
    await second.fit();
    secondModel.dispose();

    expect(straight.length).to.equal(steps);
    expect(straight.every(Number.isFinite)).to.equal(true);
    expect(resumed).to.deep.equal(straight);
  });
});

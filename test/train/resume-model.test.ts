import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataLoader } from '../../lib/data/data-loader';
import { RandomHorizontalFlip } from '../../lib/data/transforms/random-horizontal-flip';
import { createModel, loadModel } from '../../lib/models/model';
import { latestCheckpoint } from '../../lib/train/checkpoint';
import { Trainer } from '../../lib/train/trainer';

// The real net: a run stopped, checkpointed, reloaded and resumed takes exactly the steps of an
// uninterrupted one (model weights, momentum, loader position, schedules and lambda restored).
describe('Trainer with a real model', () => {
  it('resumes to the same loss sequence as an uninterrupted run', async () => {
    const n = 12;
    const size = 96 * 96 * 3;
    const images = new Uint8Array(n * size);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < size; p++)
        images[i * size + p] = (labels[i] * 80 + ((p * 31 + i * 7) % 60)) % 256;
    }
    const loader = () =>
      new DataLoader(
        { images, labels, n, height: 96, width: 96 },
        { batchSize: 4, seed: 2, transforms: [new RandomHorizontalFlip(0.5)] },
      );
    const make = () =>
      createModel({
        arch: 'sphere-cnn4',
        classes: 3,
        head: { kind: 'sphere', m: 4 },
        device: 'cpu',
        seed: 7,
      });
    const options = {
      epochs: 2,
      optimizer: { lr: 0.05 },
      schedule: { kind: 'cosine', warmup: 2 } as const,
    };
    const losses = (trainer: Trainer, into: number[]) =>
      trainer.on('batch', (b) => void into.push(b.loss));

    const straight: number[] = [];
    const fullModel = await make();
    const full = new Trainer({ model: fullModel, data: loader(), ...options });
    losses(full, straight);
    await full.fit();
    fullModel.dispose();

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-resume-'));
    const resumed: number[] = [];
    const firstModel = await make();
    const first = new Trainer({ model: firstModel, data: loader(), outDir: dir, ...options });
    losses(first, resumed);
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
    losses(second, resumed);
    await second.fit();
    secondModel.dispose();

    expect(straight.length).to.equal(6);
    expect(straight.every(Number.isFinite)).to.equal(true);
    expect(resumed).to.deep.equal(straight);
  });
});

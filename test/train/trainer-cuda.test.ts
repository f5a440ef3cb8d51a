import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataLoader } from '../../lib/data/data-loader';
import { RandomHorizontalFlip } from '../../lib/data/transforms/random-horizontal-flip';
import { createModel, loadModel } from '../../lib/models/model';
import { latestCheckpoint } from '../../lib/train/checkpoint';
import { Trainer } from '../../lib/train/trainer';
import { skipWithoutCuda } from '../cuda';

// The Trainer on CUDA against the same run on CPU: the same seed, batches, schedule and lambda,
// so the same losses up to the GPU's rounding (cuDNN's TF32 convs: relative 2e-2, as in
// test/models/cuda-models.test.ts); and a run stopped on CUDA resumes on CPU from its checkpoint
// (weights and momentum copied off the GPU) to the CPU run's remaining losses. Skipped without a
// GPU, except under SPHEREFACE_REQUIRE_CUDA=1, where that fails.
const TOLERANCE = 2e-2;

describe('Trainer on CUDA', function () {
  before(function () {
    skipWithoutCuda(this);
  });

  it("takes the CPU run's steps, and a run stopped on CUDA resumes on CPU", async () => {
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
    const make = (device: 'cpu' | 'cuda') =>
      createModel({
        arch: 'sphere-cnn4',
        classes: 3,
        head: { kind: 'sphere', m: 4 },
        device,
        seed: 7,
      });
    const options = {
      epochs: 2,
      optimizer: { lr: 0.05 },
      schedule: { kind: 'cosine', warmup: 2 } as const,
    };
    const record = (trainer: Trainer, into: number[]) =>
      trainer.on('batch', (b) => void into.push(b.loss));

    const onCpu: number[] = [];
    const cpuModel = await make('cpu');
    const cpuRun = new Trainer({ model: cpuModel, data: loader(), ...options });
    record(cpuRun, onCpu);
    await cpuRun.fit();
    cpuModel.dispose();

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-trainer-cuda-'));
    try {
      const crossed: number[] = [];
      const gpuModel = await make('cuda');
      expect(gpuModel.device).to.equal('cuda');
      const gpuRun = new Trainer({ model: gpuModel, data: loader(), outDir: dir, ...options });
      record(gpuRun, crossed);
      gpuRun.on('batch', (b) => {
        if (b.iteration === 2) gpuRun.stop(); // mid-epoch 1 of 3 batches
      });
      await gpuRun.fit();
      gpuModel.dispose();
      const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
      expect(checkpoint?.state.iteration).to.equal(2);
      const resumedModel = await loadModel(checkpoint!.modelPath, { device: 'cpu' });
      const resumed = new Trainer({
        model: resumedModel,
        data: loader(),
        outDir: dir,
        resume: checkpoint,
        ...options,
      });
      record(resumed, crossed);
      await resumed.fit();
      resumedModel.dispose();

      expect(onCpu.length).to.equal(6);
      expect(crossed.length).to.equal(6);
      crossed.forEach((loss, i) => {
        const relative = Math.abs(loss - onCpu[i]) / Math.max(1, Math.abs(onCpu[i]));
        expect(relative, `step ${i + 1}: ${loss} against the CPU's ${onCpu[i]}`).to.be.below(
          TOLERANCE,
        );
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

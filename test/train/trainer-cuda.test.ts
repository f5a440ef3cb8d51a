import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../lib/models/model';
import { latestCheckpoint } from '../../lib/train/checkpoint';
import { Trainer } from '../../lib/train/trainer';
import { skipWithoutCuda } from '../cuda';
import { recordLosses, smallRun } from './small-run';

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
    const { loader, model: make, options, steps } = smallRun();

    const onCpu: number[] = [];
    const cpuModel = await make('cpu');
    const cpuRun = new Trainer({ model: cpuModel, data: loader(), ...options });
    recordLosses(cpuRun, onCpu);
    await cpuRun.fit();
    cpuModel.dispose();

    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-trainer-cuda-'));
    try {
      const crossed: number[] = [];
      const gpuModel = await make('cuda');
      expect(gpuModel.device).to.equal('cuda');
      const gpuRun = new Trainer({ model: gpuModel, data: loader(), outDir: dir, ...options });
      recordLosses(gpuRun, crossed);
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
      recordLosses(resumed, crossed);
      await resumed.fit();
      resumedModel.dispose();

      expect(onCpu.length).to.equal(steps);
      expect(crossed.length).to.equal(steps);
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

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, info, loadModel, type Model } from '../../lib';
import type { Arch, ModelOptions } from '../../lib/models/types';
import { syntheticIdentities } from './synthetic-identities';
import { skipWithoutCuda } from '../cuda';

// The models on CUDA against the same models on CPU: same seed, same batches. Skipped without
// a GPU, except under SPHEREFACE_REQUIRE_CUDA=1 (the GPU machine), where that fails.
//
// Tolerance, relative to the largest magnitude compared: 2e-2. cuDNN runs the convolutions in
// TF32 by default (libtorch's allowTF32CuDNN), a 10-bit mantissa, so one conv carries relative
// errors near 1e-3, and a few layers and SGD steps compound them; the reductions also run in
// another order. Exact equality is only expected where no arithmetic happens (a file's bytes).
const TOLERANCE = 2e-2;

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  let scale = 1e-30;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

function expectCloseLoss(gpu: number, cpu: number, what: string): void {
  expect(Math.abs(gpu - cpu) / Math.max(1, Math.abs(cpu)), `${what}: ${gpu} vs ${cpu}`).to.be.below(
    TOLERANCE,
  );
}

describe('device auto', () => {
  it('puts a model where info() says, and it trains there', async () => {
    const model = await createModel({
      arch: 'sphere-cnn4',
      classes: 3,
      head: { kind: 'sphere', m: 4 },
      seed: 1,
    });
    try {
      expect(model.device).to.equal(info().cuda.autoDevice);
      const data = syntheticIdentities({
        identities: 3,
        imagesPerIdentity: 2,
        height: 96,
        width: 96,
      });
      const result = await model.trainStep({ ...data, lr: 0.01, lambda: 5 });
      expect(Number.isFinite(result.loss)).to.equal(true);
      expect(result.updated).to.equal(true);
    } finally {
      model.dispose();
    }
  });
});

describe('models on CUDA', function () {
  let dir: string;
  before(function () {
    skipWithoutCuda(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-cuda-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function pair(options: Omit<ModelOptions, 'device'>): Promise<[Model, Model]> {
    const cpu = await createModel({ ...options, device: 'cpu' });
    try {
      return [cpu, await createModel({ ...options, device: 'cuda' })];
    } catch (error) {
      cpu.dispose();
      throw error;
    }
  }

  const cases: { arch: Arch; options: Omit<ModelOptions, 'device' | 'arch'> }[] = [
    { arch: 'sphere-cnn4', options: { classes: 4, head: { kind: 'sphere', m: 4 }, seed: 3 } },
    {
      arch: 'sphere10',
      options: { classes: 4, head: { kind: 'arc', m: 0.5, scale: 30 }, seed: 4 },
    },
    {
      arch: 'sphere-cnn4',
      options: { classes: 4, head: { kind: 'softmax' }, embeddingDim: 3, seed: 5 },
    },
    {
      arch: 'sphere4',
      options: { classes: 4, head: { kind: 'cos', m: 0.35, scale: 30 }, seed: 6 },
    },
  ];
  for (const { arch, options } of cases) {
    const name = `${arch}, ${JSON.stringify(options.head)}, dim ${options.embeddingDim ?? 512}`;
    it(`${name}: embeddings and three training steps agree with the CPU's`, async () => {
      const [cpu, gpu] = await pair({ arch, ...options });
      try {
        expect([cpu.device, gpu.device]).to.deep.equal(['cpu', 'cuda']);
        const { height, width } = cpu.inputSize;
        const data = syntheticIdentities({
          identities: 4,
          imagesPerIdentity: 2,
          height,
          width,
          seed: 9,
        });
        const flip = Uint8Array.from({ length: data.n }, (_, i) => i % 2);
        const [a, b] = [await cpu.embed(data.images, data.n), await gpu.embed(data.images, data.n)];
        expect(b.length).to.equal(data.n * gpu.embeddingDim);
        expect(relativeError(b, a), 'embeddings').to.be.below(TOLERANCE);
        for (let s = 0; s < 3; s++) {
          const input = { ...data, flip, lr: 0.01, lambda: 5 };
          const [x, y] = [await cpu.trainStep(input), await gpu.trainStep(input)];
          expectCloseLoss(y.loss, x.loss, `step ${s + 1} loss`);
          expect(y.updated).to.equal(true);
        }
        const [c, d] = [await cpu.embed(data.images, data.n), await gpu.embed(data.images, data.n)];
        expect(relativeError(d, c), 'embeddings after the steps').to.be.below(TOLERANCE);
      } finally {
        cpu.dispose();
        gpu.dispose();
      }
    });
  }

  it('saves on CUDA and loads on CPU, and the reverse, keeping every weight', async () => {
    const [cpu, gpu] = await pair({
      arch: 'sphere4',
      classes: 4,
      head: { kind: 'arc', m: 0.5, scale: 30, easyMargin: true },
      seed: 8,
    });
    const loaded: Model[] = [];
    try {
      const data = syntheticIdentities({
        identities: 4,
        imagesPerIdentity: 2,
        height: 112,
        width: 96,
      });
      await gpu.trainStep({ ...data, lr: 0.01 }); // momentum buffers exist and must travel too
      await cpu.trainStep({ ...data, lr: 0.01 });
      const fromGpu = path.join(dir, 'from-gpu.model');
      const fromCpu = path.join(dir, 'from-cpu.model');
      await gpu.save(fromGpu);
      await cpu.save(fromCpu);
      const onCpu = await loadModel(fromGpu, { device: 'cpu' });
      loaded.push(onCpu);
      const onGpu = await loadModel(fromCpu, { device: 'cuda' });
      loaded.push(onGpu);
      expect([onCpu.device, onGpu.device]).to.deep.equal(['cpu', 'cuda']);
      expect(onCpu.head).to.deep.equal(gpu.head);
      expect(onGpu.steps).to.equal(1);
      // The weights crossed devices unchanged: saved again, each file is byte for byte the one it
      // was loaded from.
      const again = path.join(dir, 'again.model');
      await onCpu.save(again);
      expect(fs.readFileSync(again).equals(fs.readFileSync(fromGpu))).to.equal(true);
      await onGpu.save(again);
      expect(fs.readFileSync(again).equals(fs.readFileSync(fromCpu))).to.equal(true);
      // And they compute what they computed on the device they came from.
      const images = data.images;
      expect(
        relativeError(await onCpu.embed(images, data.n), await gpu.embed(images, data.n)),
      ).to.be.below(TOLERANCE);
      expect(
        relativeError(await onGpu.embed(images, data.n), await cpu.embed(images, data.n)),
      ).to.be.below(TOLERANCE);
    } finally {
      for (const model of [cpu, gpu, ...loaded]) model.dispose();
    }
  });
});

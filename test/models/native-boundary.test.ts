import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadModel } from '../../lib';
import type { Model, ModelOptions } from '../../lib';
import type { NativeModelConfig, NativeStepOptions } from '../../lib/native/model-binding';
import { native, nativeTesting } from '../../lib/native';
import { NonFiniteLossError, Trainer } from '../../lib/train/trainer';
import { FakeBatchSource } from '../train/fakes';
import { syntheticIdentities } from './synthetic-identities';
import { rejection } from '../rejection';

function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

const CONFIG: NativeModelConfig = {
  arch: 'sphere-cnn4',
  classes: 4,
  embeddingDim: 512,
  head: { kind: 'sphere', m: 4, scale: 1, lambda: 0, easyMargin: false },
  device: 'cpu',
  seed: 7,
  mean: 127.5,
  std: 128,
};
// The same model through the public API.
const OPTIONS: ModelOptions = {
  arch: 'sphere-cnn4',
  classes: 4,
  head: { kind: 'sphere', m: 4 },
  device: 'cpu',
  seed: 7,
};
const STEP: NativeStepOptions = {
  lr: 0.01,
  lambda: 5,
  momentum: 0.9,
  weightDecay: 5e-4,
  nesterov: false,
  decayAll: false,
  timings: false,
};

// FNV-1a over the bytes with the offset basis native/train/model_file.cc starts from: the model
// file's trailing checksum, which anyone can recompute after editing a file.
function fnv1a(bytes: Uint8Array): bigint {
  let hash = 1469598103934665603n;
  for (const byte of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 1099511628211n);
  return hash;
}

function resealed(body: Buffer): Buffer {
  const sum = Buffer.alloc(8);
  sum.writeBigUInt64LE(fnv1a(body));
  return Buffer.concat([body, sum]);
}

describe('the native boundary', () => {
  const data = syntheticIdentities({
    identities: 4,
    imagesPerIdentity: 2,
    height: 96,
    width: 96,
    seed: 5,
  });
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-boundary-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  describe('keeps the class of an error raised after the call returned', () => {
    it('TypeError: an unknown arch, found on the model thread', async () => {
      const handle = new (native().NativeModel)();
      const error = await rejection(handle.initialise({ ...CONFIG, arch: 'sphere5' }));
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.match(/unknown arch 'sphere5'/);
      handle.dispose();
    });

    it('RangeError: a label out of range, found on the model thread', async () => {
      const handle = new (native().NativeModel)();
      await handle.initialise(CONFIG);
      const labels = Int32Array.from(data.labels, (label, i) => (i === 3 ? 9 : label));
      const error = await rejection(handle.trainStep(data.images, labels, data.n, null, STEP));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.match(/label 9 is outside 0\.\.3/);
      handle.dispose();
    });

    it("RangeError: the loss's margin head, found on the shared queue", async () => {
      const error = await rejection(
        native().marginSoftmaxLoss({
          features: new Float32Array([1, 0]),
          weight: new Float32Array([1, 0, 0, 1]),
          bias: null,
          labels: new Int32Array([0]),
          dim: 2,
          head: { kind: 'sphere', m: 9, scale: 1, lambda: 0, easyMargin: false },
          device: 'cpu',
        }),
      );
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.match(/sphere m must be an integer in 1\.\.6 but is 9/);
    });
  });

  describe('takes every field from TypeScript and names a missing one', () => {
    it('initialise', () => {
      const { seed, ...withoutSeed } = CONFIG;
      expect(seed).to.equal(7);
      const handle = new (native().NativeModel)();
      const error = thrown(() => handle.initialise(withoutSeed as NativeModelConfig));
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.equal('Expected number for seed but received undefined');
      handle.dispose();
    });

    it('trainStep', async () => {
      const handle = new (native().NativeModel)();
      await handle.initialise(CONFIG);
      const { momentum, ...withoutMomentum } = STEP;
      expect(momentum).to.equal(0.9);
      const error = thrown(() =>
        handle.trainStep(
          data.images,
          data.labels,
          data.n,
          null,
          withoutMomentum as NativeStepOptions,
        ),
      );
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.equal('Expected number for momentum but received undefined');
      handle.dispose();
    });

    it("marginSoftmaxLoss's head", () => {
      const error = thrown(() =>
        native().marginSoftmaxLoss({
          features: new Float32Array([1, 0]),
          weight: new Float32Array([1, 0, 0, 1]),
          bias: null,
          labels: new Int32Array([0]),
          dim: 2,
          head: { kind: 'cos', m: 0.2, scale: 4 } as never,
          device: 'cpu',
        }),
      );
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.equal('Expected number for lambda but received undefined');
    });
  });

  it('the production addon exports the API only; the hooks are in the testing addon', () => {
    expect(Object.keys(native()).sort()).to.deep.equal([
      'ImageReader',
      'NativeModel',
      'NativeProcessGroup',
      'decodeJpeg',
      'info',
      'jpegDecoder',
      'liveImageReaderCount',
      'liveModelCount',
      'marginSoftmaxLoss',
      'setNumThreads',
      'shutdown',
    ]);
    expect(Object.keys(nativeTesting()).sort()).to.deep.equal([
      'benchMarginSoftmax',
      'conv3x3ForTests',
      'conv3x3InferenceForTests',
      'fusedSgdStep',
      'preluForTests',
      'residualStageForTests',
      'shutdown',
      'stridedConvStackForTests',
    ]);
  });

  describe('trainStep', () => {
    let model: Model;
    beforeEach(async () => {
      model = await createModel(OPTIONS);
    });
    afterEach(() => model.dispose());

    it('reports per-phase timings only when asked', async () => {
      const plain = await model.trainStep({ ...data, lr: 0.01 });
      expect(plain).not.to.have.property('timings');
      const timed = await model.trainStep({ ...data, lr: 0.01, timings: true });
      expect(timed.timings).to.have.all.keys(
        'prepare',
        'forward',
        'loss',
        'backward',
        'reduce',
        'optimiser',
      );
      for (const ms of Object.values(timed.timings ?? {})) expect(ms).to.be.at.least(0);
      // Only a data-parallel run waits for an all-reduce.
      expect(timed.timings?.reduce).to.equal(0);
    });

    it('refuses an update that would leave unusable weights, touching nothing', async () => {
      // One ordinary step first, so there are momentum buffers to leave alone.
      expect((await model.trainStep({ ...data, lr: 0.01 })).updated).to.equal(true);
      const before = path.join(dir, 'before.model');
      await model.save(before);
      const embedded = await model.embed(data.images, data.n);
      // 1e30 times gradients of about 1e-3: weights near 1e27, finite but far past the
      // sqrt(FLT_MAX) whose square (in every row norm) overflows.
      const result = await model.trainStep({ ...data, lr: 1e30 });
      expect(result.updated).to.equal(false);
      expect(Number.isFinite(result.loss)).to.equal(true);
      const after = path.join(dir, 'after.model');
      await model.save(after);
      // The file holds the weights, the momentum buffers and the step count.
      expect((await fs.readFile(after)).equals(await fs.readFile(before))).to.equal(true);
      expect(await model.embed(data.images, data.n)).to.deep.equal(embedded);
      expect(model.steps).to.equal(1);
    });

    it('makes the Trainer stop with its divergence error', async () => {
      const trainer = new Trainer({
        model,
        data: new FakeBatchSource(4, 3, 4, 1, 96),
        epochs: 1,
        optimizer: { lr: 1e30 },
      });
      const error = await rejection(trainer.fit());
      expect(error).to.be.instanceOf(NonFiniteLossError);
      expect(error.message).to.match(/would have made the weights unusable at iteration 1 /);
      expect(model.steps).to.equal(0);
    });
  });

  describe('model files', () => {
    let saved: string;
    before(async () => {
      const model = await createModel(OPTIONS);
      saved = path.join(dir, 'four-classes.model');
      await model.save(saved);
      model.dispose();
    });

    // The classes field follows the magic (8), the format version (4) and the arch string.
    const classesOffset = 8 + 4 + 4 + 'sphere-cnn4'.length;

    it('checks a forged class count against the stored head before allocating for it', async () => {
      const bytes = await fs.readFile(saved);
      const body = Buffer.from(bytes.subarray(0, bytes.length - 8));
      expect(body.readBigInt64LE(classesOffset)).to.equal(4n);
      body.writeBigInt64LE(2_000_000n, classesOffset);
      const forged = path.join(dir, 'forged-classes.model');
      await fs.writeFile(forged, resealed(body));
      const peakBefore = process.resourceUsage().maxRSS;
      const error = await rejection(loadModel(forged));
      expect(error.message).to.match(
        /forged-classes\.model: is corrupted \(it declares 2000000 classes, but 'head\.weight' has shape \[4, 512\]\)/,
      );
      // 2,000,000 x 512 floats would be 4 GB; the refusal allocates nothing of that size.
      const grownMb = (process.resourceUsage().maxRSS - peakBefore) / 1024;
      expect(grownMb).to.be.below(512);
    });

    it("checks a forged tensor shape against the file's length", async () => {
      const bytes = await fs.readFile(saved);
      const body = Buffer.from(bytes.subarray(0, bytes.length - 8));
      // head.weight's dims: its name, then ndim (2), then [classes, 512].
      const name = Buffer.from('head.weight');
      const at = body.indexOf(name) + name.length;
      expect(body.readUInt32LE(at)).to.equal(2);
      expect(body.readBigInt64LE(at + 4)).to.equal(4n);
      body.writeBigInt64LE(2_000_000n, classesOffset);
      body.writeBigInt64LE(2_000_000n, at + 4);
      const forged = path.join(dir, 'forged-shape.model');
      await fs.writeFile(forged, resealed(body));
      const error = await rejection(loadModel(forged));
      expect(error.message).to.match(
        /forged-shape\.model: is truncated or corrupted \(tensor 'head\.weight' of shape \[2000000, 512\] needs more than the \d+ bytes left\)/,
      );
    });

    it('refuses a weight that is not finite, by name', async () => {
      const bytes = await fs.readFile(saved);
      const body = Buffer.from(bytes.subarray(0, bytes.length - 8));
      // head.weight's data follows its name, ndim (2) and dims [4, 512].
      const name = Buffer.from('head.weight');
      const data = body.indexOf(name) + name.length + 4 + 2 * 8;
      body.writeFloatLE(Number.NaN, data + 4 * 7);
      const forged = path.join(dir, 'nan-weight.model');
      await fs.writeFile(forged, resealed(body));
      const error = await rejection(loadModel(forged));
      expect(error.message).to.match(
        /nan-weight\.model: tensor 'head\.weight' holds values that are not finite \(NaN or infinity\)/,
      );
    });

    it('refuses a FIFO by name at once, without waiting for a writer', async () => {
      const fifo = path.join(dir, 'waiting.model');
      execFileSync('mkfifo', [fifo]);
      const error = await rejection(loadModel(fifo));
      expect(error.message).to.equal(
        `cannot read model file ${fifo}: it is a FIFO, not a model file`,
      );
    });

    it('names a directory given as the model path', async () => {
      const error = await rejection(loadModel(dir));
      expect(error.message).to.equal(
        `cannot read model file ${dir}: it is a directory, not a model file`,
      );
    });
  });
});

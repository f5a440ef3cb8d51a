import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadModel } from '../../lib';
import type { MarginHead } from '../../lib/ops/margin-head';
import { referenceLoss, referenceSoftmaxLoss } from '../ops/margin-reference';
import { syntheticIdentities } from './synthetic-identities';
import { checkHeadSize } from '../../lib/models/validate';
import { rejection } from '../rejection';

// A model file read here by hand, from the layout native/train/model_file.h documents (format 2):
// the header's fields and the float32 tensors by name.
function readModelFile(file: string) {
  const bytes = fs.readFileSync(file);
  let at = 8;
  const u32 = () => ((at += 4), bytes.readUInt32LE(at - 4));
  const i64 = () => ((at += 8), Number(bytes.readBigInt64LE(at - 8)));
  const f64 = () => ((at += 8), bytes.readDoubleLE(at - 8));
  const text = () => {
    const n = u32();
    return ((at += n), bytes.toString('utf8', at - n, at));
  };
  const version = u32();
  const header = {
    version,
    arch: text(),
    classes: i64(),
    embeddingDim: i64(),
    kind: u32(),
    m: f64(),
    scale: f64(),
    lambda: f64(),
    easyMargin: ((at += 1), bytes[at - 1]),
    mean: f64(),
    std: f64(),
    steps: i64(),
  };
  const tensors = new Map<string, { shape: number[]; data: Float32Array; offset: number }>();
  const count = u32();
  for (let t = 0; t < count; t++) {
    const name = text();
    const shape = Array.from({ length: u32() }, i64);
    const numel = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(numel);
    for (let k = 0; k < numel; k++) data[k] = bytes.readFloatLE(at + 4 * k);
    tensors.set(name, { shape, data, offset: at });
    at += 4 * numel;
  }
  return { header, tensors, bytes, bodyEnd: at };
}

describe('model heads and embedding sizes', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-heads-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const data = syntheticIdentities({
    identities: 3,
    imagesPerIdentity: 2,
    height: 96,
    width: 96,
    seed: 5,
  });

  for (const embeddingDim of [2, 3, 512, 1000]) {
    it(`builds sphere-cnn4 with a ${embeddingDim}-D embedding and keeps it through a file`, async () => {
      const model = await createModel({
        arch: 'sphere-cnn4',
        classes: 3,
        head: { kind: 'sphere', m: 4 },
        embeddingDim,
        device: 'cpu',
        seed: 2,
      });
      try {
        expect(model.embeddingDim).to.equal(embeddingDim);
        const features = await model.embed(data.images, data.n);
        expect(features.length).to.equal(data.n * embeddingDim);
        // Convs 3->32->128->256->512 (weights and biases), fc 12800 -> D, head 3 x D.
        const convs =
          32 * 3 * 9 + 32 + 128 * 32 * 9 + 128 + 256 * 128 * 9 + 256 + 512 * 256 * 9 + 512;
        const fc = 12800 * embeddingDim + embeddingDim;
        expect(model.parameterCount({ head: false })).to.equal(convs + fc);
        expect(model.parameterCount()).to.equal(convs + fc + 3 * embeddingDim);
        const file = path.join(dir, `dim-${embeddingDim}.model`);
        await model.save(file);
        const { header, tensors } = readModelFile(file);
        expect(header.embeddingDim).to.equal(embeddingDim);
        expect(tensors.get('head.weight')!.shape).to.deep.equal([3, embeddingDim]);
        expect(tensors.get('net.fc.weight')!.shape).to.deep.equal([embeddingDim, 12800]);
        const loaded = await loadModel(file);
        try {
          expect(loaded.embeddingDim).to.equal(embeddingDim);
          expect(await loaded.embed(data.images, data.n)).to.deep.equal(features);
        } finally {
          loaded.dispose();
        }
      } finally {
        model.dispose();
      }
    });
  }

  it('refuses an embedding size that is not a positive integer, naming it', async () => {
    for (const embeddingDim of [0, -3, 2.5, 70000]) {
      let error: unknown;
      try {
        await createModel({
          arch: 'sphere-cnn4',
          classes: 3,
          head: { kind: 'sphere', m: 4 },
          embeddingDim,
        });
      } catch (caught) {
        error = caught;
      }
      expect(error, String(embeddingDim)).to.be.instanceOf(RangeError);
      expect((error as Error).message).to.match(
        new RegExp(`an integer in 1\\.\\.65536 for embeddingDim but received ${embeddingDim}`),
      );
    }
  });

  it('refuses a head that memory cannot train, before allocating it', async () => {
    // Just past this machine's memory, whatever it has.
    const classes = Math.ceil(os.totalmem() / (12 * 512)) + 1;
    const start = performance.now();
    const error = await rejection(
      createModel({
        arch: 'sphere-cnn4',
        classes,
        embeddingDim: 512,
        head: { kind: 'sphere', m: 4 },
        device: 'cpu',
      }),
    );
    expect(performance.now() - start).to.be.below(1000); // refused, not allocated
    expect(error).to.be.instanceOf(RangeError);
    const gb = (bytes: number) => (bytes / 1e9).toFixed(1);
    expect(error.message).to.equal(
      `classes ${classes} x embeddingDim 512 makes a head of ${gb(classes * 512 * 4)} GB, ` +
        `${gb(classes * 512 * 12)} GB to train with its gradient and momentum, over the ` +
        `${gb(os.totalmem())} GB of this machine's memory`,
    );
    // The bound: weights, gradient and momentum, 12 bytes a weight, against the memory given.
    expect(() => checkHeadSize(1000, 512, 'cpu', 12 * 1000 * 512)).to.not.throw();
    expect(() => checkHeadSize(1000, 512, 'auto', 12 * 1000 * 512 - 1)).to.throw(RangeError);
    expect(() => checkHeadSize(1000, 512, 'cuda', 1)).to.not.throw(); // GPU memory: libtorch's
  });

  // The first step's loss is the loss of the model before it moves: computed here from the
  // embeddings (eval mode equals train mode for sphere-cnn4, which has no dropout or batch norm)
  // and the head read from the saved file, by the float64 reference.
  const heads: MarginHead[] = [
    { kind: 'softmax' },
    { kind: 'arc', m: 0.5, scale: 16, easyMargin: true },
    { kind: 'sphere', m: 2, lambda: 3 },
  ];
  for (const head of heads) {
    it(`trains ${JSON.stringify(head)}: the first step's loss is the reference loss of its embeddings and saved head`, async () => {
      const model = await createModel({
        arch: 'sphere-cnn4',
        classes: 3,
        head,
        embeddingDim: 8,
        device: 'cpu',
        seed: 4,
      });
      try {
        expect(model.head).to.deep.equal(head);
        const file = path.join(dir, `${head.kind}.model`);
        await model.save(file);
        const { tensors } = readModelFile(file);
        const weight = tensors.get('head.weight')!.data;
        const bias = tensors.get('head.bias');
        expect(bias === undefined).to.equal(head.kind !== 'softmax');
        const features = await model.embed(data.images, data.n);
        const expected =
          head.kind === 'softmax'
            ? referenceSoftmaxLoss(features, weight, bias!.data, data.labels, 8)
            : referenceLoss(features, weight, data.labels, 8, head);
        const lambda = head.kind === 'sphere' ? head.lambda : undefined;
        const step = await model.trainStep({ ...data, lr: 0.01, lambda });
        expect(step.loss).to.be.closeTo(expected.loss, 1e-4 * Math.max(1, expected.loss));
        expect(step.accuracy).to.equal(expected.accuracy);
        expect(step.updated).to.equal(true);
        const parameters = model.parameterCount({ head: false }) + 3 * 8;
        expect(model.parameterCount()).to.equal(parameters + (head.kind === 'softmax' ? 3 : 0));
        // The head (with softmax's bias and its momentum) comes back from a file as it was.
        await model.save(file);
        const loaded = await loadModel(file);
        try {
          expect(loaded.head).to.deep.equal(head);
          const [a, b] = [
            await model.trainStep({ ...data, lr: 0.01 }),
            await loaded.trainStep({ ...data, lr: 0.01 }),
          ];
          expect(b.loss).to.equal(a.loss);
        } finally {
          loaded.dispose();
        }
        if (head.kind === 'softmax') {
          expect(readModelFile(file).tensors.has('momentum.head.bias')).to.equal(true);
        }
      } finally {
        model.dispose();
      }
    });
  }

  describe('model files', () => {
    let saved: string;
    before(async () => {
      const model = await createModel({
        arch: 'sphere-cnn4',
        classes: 3,
        head: { kind: 'cos', m: 0.35, scale: 30 },
        device: 'cpu',
        seed: 6,
      });
      saved = path.join(dir, 'format-2.model');
      await model.save(saved);
      model.dispose();
    });

    // FNV-1a: the checksum model_file.cc appends.
    function sealed(body: Buffer): Buffer {
      let hash = 1469598103934665603n;
      for (const byte of body) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 1099511628211n);
      const sum = Buffer.alloc(8);
      sum.writeBigUInt64LE(hash);
      return Buffer.concat([body, sum]);
    }

    it('reads format 1 (written before the embedding size and easy margin were stored)', async () => {
      const { bytes, bodyEnd } = readModelFile(saved);
      // Format 2 less the i64 embedding size after classes and the u8 easy margin after lambda.
      const classesEnd = 8 + 4 + 4 + 'sphere-cnn4'.length + 8;
      const lambdaEnd = classesEnd + 8 + 4 + 3 * 8;
      const v1 = Buffer.concat([
        bytes.subarray(0, classesEnd),
        bytes.subarray(classesEnd + 8, lambdaEnd),
        bytes.subarray(lambdaEnd + 1, bodyEnd),
      ]);
      v1.writeUInt32LE(1, 8);
      const file = path.join(dir, 'format-1.model');
      fs.writeFileSync(file, sealed(v1));
      const [v1Model, v2Model] = [await loadModel(file), await loadModel(saved)];
      try {
        expect(v1Model.embeddingDim).to.equal(512);
        expect(v1Model.head).to.deep.equal({ kind: 'cos', m: 0.35, scale: 30 });
        expect(await v1Model.embed(data.images, data.n)).to.deep.equal(
          await v2Model.embed(data.images, data.n),
        );
      } finally {
        v1Model.dispose();
        v2Model.dispose();
      }
    });

    it('checks a forged embedding size against the stored fc before building the net', async () => {
      const { bytes, bodyEnd } = readModelFile(saved);
      const body = Buffer.from(bytes.subarray(0, bodyEnd));
      const at = 8 + 4 + 4 + 'sphere-cnn4'.length + 8;
      expect(body.readBigInt64LE(at)).to.equal(512n);
      body.writeBigInt64LE(4_000_000n, at);
      const file = path.join(dir, 'forged-dim.model');
      fs.writeFileSync(file, sealed(body));
      let error: Error | undefined;
      try {
        await loadModel(file);
      } catch (caught) {
        error = caught as Error;
      }
      // Building the fc for it would take 4e6 x 12800 floats (205 GB).
      expect(error?.message).to.match(
        /forged-dim\.model: is corrupted \(it declares embedding dim 4000000, but 'net\.fc\.weight' has shape \[512, 12800\]\)/,
      );
    });
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, importStateDict, loadModel } from '../../lib';
import { syntheticIdentities } from './synthetic-identities';
import { rejection } from '../rejection';
import { stateDictBytes } from '../data/formats/torch-writer';

describe('save and load', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-model-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const data = syntheticIdentities({
    identities: 4,
    imagesPerIdentity: 2,
    height: 112,
    width: 96,
    seed: 21,
  });
  const step = { ...data, lr: 0.01, lambda: 100, momentum: 0.9, weightDecay: 5e-4 };

  it('gives identical embeddings and an identical next training step', async () => {
    const file = path.join(dir, 'sphere4.model');
    const original = await createModel({
      arch: 'sphere4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 7,
    });
    try {
      await original.trainStep(step); // so the momentum buffers exist and must round-trip
      await original.save(path.join(dir, 'sphere4.model'));
      expect(fs.readdirSync(dir)).to.deep.equal(['sphere4.model']); // no temp file left behind
      const loaded = await loadModel(file);
      try {
        expect(loaded.arch).to.equal('sphere4');
        expect(loaded.classes).to.equal(4);
        expect(loaded.head).to.deep.equal({ kind: 'sphere', m: 4, lambda: 0 });
        expect(loaded.steps).to.equal(1);
        expect(await loaded.embed(data.images, data.n)).to.deep.equal(
          await original.embed(data.images, data.n),
        );
        const [a, b] = [await original.trainStep(step), await loaded.trainStep(step)];
        expect(b.loss).to.equal(a.loss);
        expect(b.accuracy).to.equal(a.accuracy);
        // After the step the weights (and so the momentum used) must still agree bit for bit.
        expect(await loaded.embed(data.images, data.n)).to.deep.equal(
          await original.embed(data.images, data.n),
        );
      } finally {
        loaded.dispose();
      }
    } finally {
      original.dispose();
    }
  });

  it('writes the weights of its call: a trainStep called after a save or an export waits', async () => {
    const model = await createModel({
      arch: 'sphere4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 8,
    });
    const files = { saved: path.join(dir, 'ordered.sfm'), exported: path.join(dir, 'ordered.pt') };
    try {
      const before = await model.embed(data.images, data.n);
      // Neither awaited before the step is called. The step's buffers are reused at once, as a
      // loader's are: the step must train on what they held at its call.
      const writes = [model.save(files.saved), model.exportStateDict(files.exported)];
      const reused = { ...step, images: data.images.slice(), labels: data.labels.slice() };
      const stepped = model.trainStep(reused);
      reused.images.fill(0);
      reused.labels.fill(0);
      const embedAfter = model.embed(data.images, data.n);
      await Promise.all([...writes, stepped]);
      expect(model.steps).to.equal(1);
      expect(await embedAfter).to.not.deep.equal(before);
      const saved = await loadModel(files.saved);
      const imported = await importStateDict(files.exported, { arch: 'sphere4', classes: 4 });
      try {
        expect(saved.steps).to.equal(0);
        expect(await saved.embed(data.images, data.n)).to.deep.equal(before);
        expect(await imported.embed(data.images, data.n)).to.deep.equal(before);
        // The saved model is the one the step started from: the same step gives the same loss.
        expect((await saved.trainStep(step)).loss).to.equal((await stepped).loss);
      } finally {
        saved.dispose();
        imported.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('keeps the head and preprocessing of a cos model', async () => {
    const file = path.join(dir, 'cos.model');
    const model = await createModel({
      arch: 'sphere-cnn4',
      classes: 3,
      head: { kind: 'cos', m: 0.35, scale: 30 },
      device: 'cpu',
      mean: 100,
      std: 50,
    });
    await model.save(file);
    model.dispose();
    const loaded = await loadModel(file);
    expect(loaded.head).to.deep.equal({ kind: 'cos', m: 0.35, scale: 30 });
    expect([loaded.mean, loaded.std, loaded.steps]).to.deep.equal([100, 50, 0]);
    loaded.dispose();
  });

  describe('rejects', () => {
    let file: string;
    before(async () => {
      file = path.join(dir, 'good.model');
      const model = await createModel({
        arch: 'sphere-cnn4',
        classes: 5,
        head: { kind: 'sphere', m: 2 },
        device: 'cpu',
        seed: 1,
      });
      await model.save(file);
      model.dispose();
    });

    it('a file of another arch than the one asked for, naming both', async () => {
      await expectRejection(
        loadModel(file, { arch: 'sphere20' }),
        /holds a sphere-cnn4 model, not sphere20/,
      );
    });

    it('a truncated file', async () => {
      const bytes = fs.readFileSync(file);
      for (const keep of [20, 100, Math.floor(bytes.length / 2), bytes.length - 3]) {
        const cut = path.join(dir, `cut-${keep}.model`);
        fs.writeFileSync(cut, bytes.subarray(0, keep));
        await expectRejection(loadModel(cut), /cut-\d+\.model: is truncated/);
      }
    });

    it('a file whose bytes were changed', async () => {
      const bytes = Buffer.from(fs.readFileSync(file));
      bytes[bytes.length - 1000] ^= 0x40;
      const bad = path.join(dir, 'flipped.model');
      fs.writeFileSync(bad, bytes);
      await expectRejection(loadModel(bad), /flipped\.model: is corrupted \(checksum mismatch\)/);
    });

    it('a tensor name with unprintable bytes, shown escaped in the whole message', async () => {
      const bytes = Buffer.from(fs.readFileSync(file));
      const at = bytes.indexOf('net.');
      const length = bytes.readUInt32LE(at - 4);
      const name = bytes.toString('latin1', at, at + length);
      bytes[at + 1] = 0; // a NUL in the name
      bytes[at + 2] = 0xe9;
      bytes.writeUInt32LE(99, at + length); // its number of dims
      const bad = path.join(dir, 'named.model');
      fs.writeFileSync(bad, bytes);
      const shown = `n\\x00\\xe9${name.slice(3)}`;
      const error = await rejection(loadModel(bad));
      expect(
        error.message.endsWith(`named.model: is corrupted (tensor '${shown}' has 99 dims)`),
        error.message,
      ).to.equal(true);
    });

    it('a file that is not a model, and a missing file', async () => {
      const text = path.join(dir, 'notes.txt');
      fs.writeFileSync(text, 'these are not the weights you are looking for\n');
      await expectRejection(loadModel(text), /notes\.txt: is not a sphereface model file$/);
      // A PyTorch state_dict (a zip archive) is pointed at importStateDict.
      const pt = path.join(dir, 'net.pt');
      const w = { name: 'w', storage: '0', shape: [1], stride: [1] };
      fs.writeFileSync(pt, stateDictBytes([w], { '0': Float32Array.from([1]) }));
      await expectRejection(
        loadModel(pt),
        /net\.pt: is not a sphereface model file: it looks like a PyTorch file; read a state_dict with importStateDict\(path, \{ arch \}\) or sphereface import --state-dict FILE --arch ARCH$/,
      );
      await expectRejection(
        loadModel(path.join(dir, 'missing.model')),
        /cannot read model file .*missing\.model/,
      );
    });
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error, 'expected a rejection').to.be.instanceOf(Error);
  expect((error as Error).message).to.match(message);
}

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { createModel, type Model } from '../../lib/models/model';

const SIDE = 96; // sphere-cnn4's input: files of that size decode to their bytes unchanged

async function writeRandomPng(file: string, seed: number): Promise<Uint8Array> {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const rgb = Uint8Array.from({ length: SIDE * SIDE * 3 }, () => Math.floor(next() * 256));
  const img = new Jimp({ width: SIDE, height: SIDE, color: 0xffffffff });
  for (let i = 0; i < SIDE * SIDE; i++) {
    for (let c = 0; c < 3; c++) img.bitmap.data[4 * i + c] = rgb[3 * i + c];
  }
  fs.writeFileSync(file, await img.getBuffer('image/png'));
  return rgb;
}

function mirrored(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const from = (y * SIDE + SIDE - 1 - x) * 3;
      out.set(rgb.subarray(from, from + 3), (y * SIDE + x) * 3);
    }
  }
  return out;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return dot / Math.sqrt(aa * bb);
}

describe('Model.embedFiles and Model.verify', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'model-files-'));
  const files = [path.join(dir, 'a.png'), path.join(dir, 'b.png')];
  let pixels: Uint8Array[];
  let model: Model;

  before(async () => {
    pixels = await Promise.all(files.map((f, i) => writeRandomPng(f, i + 7)));
    model = await createModel({
      arch: 'sphere-cnn4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 3,
    });
  });
  after(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The image's features and its mirror's, concatenated, as the evaluator's default protocol.
  async function expectedFeatures(rgb: Uint8Array): Promise<number[]> {
    const plain = await model.embed(rgb, 1);
    const flipped = await model.embed(mirrored(rgb), 1);
    return [...plain, ...flipped];
  }

  it('embeds files as unit vectors of the image and mirror features', async () => {
    const { embeddings, dim, paths } = await model.embedFiles(files);
    expect(dim).to.equal(1024);
    expect(paths).to.deep.equal(files);
    for (let i = 0; i < files.length; i++) {
      const row = embeddings.subarray(i * dim, (i + 1) * dim);
      const want = await expectedFeatures(pixels[i]);
      const norm = Math.sqrt(want.reduce((s, v) => s + v * v, 0));
      want.forEach((v, k) => expect(row[k]).to.be.closeTo(v / norm, 1e-5));
    }
  });

  it('verifies against the given threshold, then the stored one', async () => {
    const want = cosine(await expectedFeatures(pixels[0]), await expectedFeatures(pixels[1]));
    const verdict = await model.verify(files[0], files[1], { threshold: want - 1e-3 });
    expect(verdict.similarity).to.be.closeTo(want, 1e-5);
    expect(verdict.same).to.equal(true);
    expect(verdict.thresholdSource).to.equal('given');
    model.setThreshold(want + 1e-3, 'a test protocol');
    const stored = await model.verify(files[0], files[1]);
    expect(stored).to.include({
      same: false,
      thresholdSource: 'stored',
      protocol: 'a test protocol',
    });
    expect(stored.threshold).to.equal(want + 1e-3);
  });

  it('counts embedFiles and verify as pending from their start: dispose() refuses until they end', async () => {
    const serving = await createModel({
      arch: 'sphere-cnn4',
      classes: 4,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 4,
    });
    const embedding = serving.embedFiles(files, { batchSize: 1 });
    const verifying = serving.verify(files[0], files[1], { threshold: 0 });
    // Both are decoding their first files: no embed is queued natively yet.
    expect(serving.pending).to.equal(2);
    expect(() => serving.dispose()).to.throw(
      'dispose() called while an embedFiles, verify, gallery or evaluation call is using this ' +
        'model; await it first',
    );
    await Promise.all([embedding, verifying]);
    expect(serving.pending).to.equal(0);
    serving.dispose();
    expect(serving.disposed).to.equal(true);
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { LfwDataset } from '../../lib/data/lfw-dataset';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import { angularFisherScore } from '../../lib/eval/angular-fisher-score';
import { LfwEvaluator } from '../../lib/eval/lfw-evaluator';
import { inputTransforms } from '../../lib/models/preprocess';
import { seededUniform } from './helpers';

// A tiny LFW layout (4 people x 3 PNGs of 10x12) and a pairs.txt with 2 folds of 3 + 3 pairs,
// read by LfwDataset and evaluated on raw pixels: the folds must follow the file's line order.
describe('LFW layout to evaluation', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lfw-'));
  const names = ['Ann_A', 'Bob_B', 'Cid_C', 'Dee_D'];
  const lines = [
    '2\t3',
    'Ann_A\t1\t2',
    'Bob_B\t1\t3',
    'Ann_A\t2\t3',
    'Ann_A\t1\tBob_B\t2',
    'Ann_A\t3\tBob_B\t1',
    'Bob_B\t2\tAnn_A\t2',
    'Cid_C\t1\t2',
    'Dee_D\t2\t3',
    'Cid_C\t1\t3',
    'Cid_C\t2\tDee_D\t1',
    'Dee_D\t3\tCid_C\t3',
    'Cid_C\t3\tDee_D\t2',
  ];
  const file = (name: string, i: number) => path.join(root, name, `${name}_000${i}.png`);
  // The unique images in order of first mention, as LfwDataset lists them.
  const imagePaths: string[] = [];
  for (const cells of lines.slice(1).map((l) => l.split('\t'))) {
    const pair =
      cells.length === 3
        ? [file(cells[0], +cells[1]), file(cells[0], +cells[2])]
        : [file(cells[0], +cells[1]), file(cells[2], +cells[3])];
    for (const f of pair) if (!imagePaths.includes(f)) imagePaths.push(f);
  }
  // Each file's pixels as written (PNG is lossless), brought to 8x8 by the transforms.
  const written = new Map<string, Uint8Array>();
  const at8x8 = (f: string) => {
    let image = { data: written.get(f)!, width: 10, height: 12 };
    for (const t of inputTransforms({ height: 8, width: 8 })) image = t.apply(image);
    return image.data;
  };

  before(async () => {
    const rand = seededUniform(8);
    for (const [p, name] of names.entries()) {
      fs.mkdirSync(path.join(root, name));
      for (let i = 1; i <= 3; i++) {
        const img = new Jimp({ width: 10, height: 12, color: 0xffffffff });
        for (let k = 0; k < 10 * 12; k++) {
          for (let c = 0; c < 3; c++) img.bitmap.data[4 * k + c] = (60 * p + 80 * rand()) | 0;
        }
        fs.writeFileSync(file(name, i), await img.getBuffer('image/png'));
        const rgb = new Uint8Array(10 * 12 * 3);
        for (let k = 0; k < 10 * 12; k++)
          rgb.set(img.bitmap.data.subarray(4 * k, 4 * k + 3), 3 * k);
        written.set(file(name, i), rgb);
      }
    }
    fs.writeFileSync(path.join(root, 'pairs.txt'), lines.join('\n') + '\n');
  });

  it('evaluates the pairs in pairs.txt order with folds of consecutive lines', async () => {
    const lfw = await new LfwDataset(root, path.join(root, 'pairs.txt'), { extension: 'png' }).load(
      { transforms: inputTransforms({ height: 8, width: 8 }), threads: 1 },
    );
    const ev = await new LfwEvaluator(lfw.images, lfw.pairs, { flip: 'none' }).evaluate(
      rawPixelEmbedder(8, 8),
    );
    expect(ev.folds.map((f) => f.pairs)).to.deep.equal([6, 6]);
    // Pair i (file line i + 2) against a direct raw-pixel cosine of its two files.
    const parsed = lines.slice(1).map((l) => l.split('\t'));
    for (const [i, cells] of parsed.entries()) {
      const [a, b] =
        cells.length === 3
          ? [file(cells[0], +cells[1]), file(cells[0], +cells[2])]
          : [file(cells[0], +cells[1]), file(cells[2], +cells[3])];
      const u = Array.from(at8x8(a), (v) => (v - 127.5) / 128);
      const v = Array.from(at8x8(b), (x) => (x - 127.5) / 128);
      const cos =
        u.reduce((s, x, k) => s + x * v[k], 0) /
        Math.sqrt(u.reduce((s, x) => s + x * x, 0) * v.reduce((s, x) => s + x * x, 0));
      expect(ev.scores[i]).to.be.closeTo(cos, 1e-6);
      expect(lfw.pairs[i].fold).to.equal(i < 6 ? 0 : 1);
      expect(lfw.pairs[i].same).to.equal(cells.length === 3);
    }
  });

  it("reports the Angular Fisher Score of the images' identities", async () => {
    const lfw = await new LfwDataset(root, path.join(root, 'pairs.txt'), { extension: 'png' }).load(
      { transforms: inputTransforms({ height: 8, width: 8 }), threads: 1 },
    );
    const ev = await new LfwEvaluator(lfw.images, lfw.pairs, { flip: 'none' }).evaluate(
      rawPixelEmbedder(8, 8),
    );
    // Independently: the identity from each file's folder, raw-pixel features from the file.
    const features: number[] = [];
    const labels: number[] = [];
    for (const kept of Array.from(lfw.images.kept)) {
      const image = path.basename(path.dirname(imagePaths[kept]));
      labels.push(names.indexOf(image));
      features.push(...Array.from(at8x8(imagePaths[kept]), (v) => (v - 127.5) / 128));
    }
    const want = angularFisherScore(Float64Array.from(features), labels, 8 * 8 * 3);
    expect(ev.angularFisherScore?.definition).to.equal('paper');
    expect(ev.angularFisherScore?.normalized).to.equal(true);
    expect(ev.angularFisherScore?.classes).to.equal(4);
    expect(ev.angularFisherScore?.afs).to.be.closeTo(want.afs, 1e-6);
  });
});

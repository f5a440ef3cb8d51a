import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { tenFoldVerification } from '../../../lib/eval/verification';
import { createModel } from '../../../lib/models/model';
import { sphereMain, sphereface } from '../../cli/cli-helpers';
import { FIXTURES, manifest } from './fixtures';

/** Raw-pixel features as the protocol defines them, from pixels decoded by jimp directly. */
async function rawPixelFeatures(file: string): Promise<Float64Array> {
  const { data, width, height } = (await Jimp.read(file)).bitmap;
  const f = new Float64Array(2 * width * height * 3);
  const half = width * height * 3;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = (data[(y * width + x) * 4 + c] - 127.5) / 128;
        f[(y * width + x) * 3 + c] = v; // the image
        f[half + (y * width + (width - 1 - x)) * 3 + c] = v; // its mirror, concatenated
      }
    }
  }
  return f;
}

function cosine(a: Float64Array, b: Float64Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** A protocol 3 pickle of (images, issame), opcode by opcode. */
function pickleBin(images: readonly Uint8Array[], same: readonly boolean[]): Buffer {
  const bytes = images.map((image) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(image.length);
    return Buffer.concat([Buffer.from([0x42]), len, image]); // BINBYTES
  });
  return Buffer.concat([
    Buffer.from([0x80, 3, 0x5d, 0x28]), // PROTO 3, EMPTY_LIST, MARK
    ...bytes,
    Buffer.from([0x65, 0x5d, 0x28]), // APPENDS, EMPTY_LIST, MARK
    Buffer.from(same.map((s) => (s ? 0x88 : 0x89))), // NEWTRUE / NEWFALSE
    Buffer.from([0x65, 0x86, 0x2e]), // APPENDS, TUPLE2, STOP
  ]);
}

describe('sphereface eval --bin', () => {
  const sets = manifest();

  it('--skip-bad-images leaves out the pairs of an image that does not decode', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-bin-bad-'));
    const bin = path.join(dir, 'bad.bin');
    const files = sets.pairs.images.map((f) => path.join(FIXTURES, 'images', f));
    const images = await Promise.all(files.map((f) => fs.readFile(f)));
    images[5] = images[5].subarray(0, 20); // pair 3 (images 4 and 5) loses an image
    await fs.writeFile(bin, pickleBin(images, sets.pairs.issame));

    const refused = await sphereface(['eval', '--bin', bin, '--raw-pixels']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/cannot decode .*bad\.bin#5: .*pass --skip-bad-images/);

    const features = await Promise.all(files.map((f) => rawPixelFeatures(f)));
    const pairs = sets.pairs.issame
      .map((same, i) => ({ a: 2 * i, b: 2 * i + 1, same, fold: Math.floor(i / 2), line: i + 1 }))
      .filter((q) => q.line !== 3);
    const expected = tenFoldVerification(
      pairs.map((q) => cosine(features[q.a], features[q.b])),
      pairs,
    );
    const r = await sphereface([
      'eval',
      '--bin',
      bin,
      '--raw-pixels',
      '--skip-bad-images',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/skipped 1 pairs with a missing or undecodable image/);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      accuracy: number;
      evaluation: { pairs: number; images: number; folds: { accuracy: number }[] };
    };
    expect(result.evaluation).to.include({ pairs: 19, images: 39 });
    expect(result.evaluation.folds.map((f) => f.accuracy)).to.deep.equal(
      expected.folds.map((f) => f.accuracy),
    );
    expect(result.accuracy).to.equal(expected.meanAccuracy);
  });

  it('--raw-pixels alone evaluates the raw-pixel floor of a .bin in ten folds', async () => {
    const features = await Promise.all(
      sets.pairs.images.map((f) => rawPixelFeatures(path.join(FIXTURES, 'images', f))),
    );
    const pairs = sets.pairs.issame.map((same, i) => ({
      a: 2 * i,
      b: 2 * i + 1,
      same,
      fold: Math.floor(i / 2), // 20 pairs, 10 folds
      line: i + 1,
    }));
    const scores = pairs.map((q) => cosine(features[q.a], features[q.b]));
    const expected = tenFoldVerification(scores, pairs);

    const r = await sphereface([
      'eval',
      '--bin',
      path.join(FIXTURES, 'pairs-py2.bin'),
      '--raw-pixels',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      evaluated: string;
      accuracy: number;
      imageSize: { height: number; width: number };
      evaluation: {
        accuracy: number;
        std: number;
        pairs: number;
        images: number;
        folds: unknown[];
      };
    };
    expect(result.evaluated).to.equal('raw-pixels');
    expect(result.imageSize).to.deep.equal({ height: 16, width: 16 });
    expect(result.evaluation).to.include({ pairs: 20, images: 40 });
    expect(result.evaluation.folds.length).to.equal(10);
    expect(result.evaluation.folds.map((f) => (f as { accuracy: number }).accuracy)).to.deep.equal(
      expected.folds.map((f) => f.accuracy),
    );
    expect(result.accuracy).to.equal(expected.meanAccuracy);
    expect(result.evaluation.std).to.equal(expected.stdAccuracy);
  });

  it("evaluates a model on the .bin's images cropped to its input, the raw pixels beside", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-bin-eval-'));
    const modelFile = path.join(dir, 'sphere4.sfm');
    const model = await createModel({
      arch: 'sphere4',
      classes: 3,
      head: { kind: 'sphere', m: 4 },
    });
    try {
      await model.save(modelFile);
    } finally {
      model.dispose();
    }
    const r = await sphereface([
      'eval',
      '--bin',
      path.join(FIXTURES, 'pairs-p4.bin'),
      '--model',
      modelFile,
      '--raw-pixels',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      evaluated: string;
      accuracy: number;
      arch: string;
      imageSize: { height: number; width: number };
      evaluation: { accuracy: number };
      baseline: { accuracy: number; featureDim: number };
    };
    expect(result).to.include({ evaluated: 'model', arch: 'sphere4' });
    expect(result.imageSize).to.deep.equal({ height: 112, width: 96 });
    expect(result.accuracy).to.equal(result.evaluation.accuracy);
    expect(result.accuracy).to.be.within(0, 1);
    expect(result.baseline.featureDim).to.equal(2 * 112 * 96 * 3);
  });

  it('refuses --bin without --model or --raw-pixels, and with --lfw', async () => {
    const bin = path.join(FIXTURES, 'pairs-p4.bin');
    const alone = await sphereMain(['eval', '--bin', bin]);
    expect(alone.code).to.equal(2); // bad usage
    expect(alone.stderr).to.match(/--model is required \(or --raw-pixels alone/);
    const both = await sphereMain(['eval', '--bin', bin, '--lfw', FIXTURES, '--raw-pixels']);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.match(/--lfw does not go with --bin/);
    const missing = await sphereMain(['eval', '--bin', '/nonexistent.bin', '--raw-pixels']);
    expect(missing.code).to.equal(1); // a failure
    expect(missing.stderr).to.match(/verification file \/nonexistent.bin does not exist/);
  });
});

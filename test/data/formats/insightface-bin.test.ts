import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { inputSizeOf } from '../../../lib/models/archs';
import { inputTransforms } from '../../../lib/models/preprocess';
import { binPairs, loadVerificationBin } from '../../../lib/data/insightface-bin';
import * as binFormat from '../../../lib/data/formats/verification-bin';
import { loadImages } from '../../../lib/data/load-images';
import { FIXTURES, manifest } from './fixtures';

describe('insightface verification .bin', () => {
  const sets = manifest();

  it("makes sklearn KFold's consecutive folds: the first n % k one pair longer", () => {
    const same = Array.from({ length: 23 }, (_, i) => i % 3 === 0);
    const pairs = binPairs(same);
    const sizes = Array.from({ length: 10 }, (_, f) => pairs.filter((q) => q.fold === f).length);
    expect(sizes).to.deep.equal([3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
    expect(pairs.map((q) => q.fold)).to.deep.equal([
      0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9,
    ]);
    pairs.forEach((q, i) => {
      expect(q).to.deep.equal({ a: 2 * i, b: 2 * i + 1, same: same[i], fold: q.fold, line: i + 1 });
    });
    // 6000 pairs (lfw.bin): ten folds of 600.
    const lfw = binPairs(new Array<boolean>(6000).fill(true));
    expect(lfw[599].fold).to.equal(0);
    expect(lfw[600].fold).to.equal(1);
    expect(lfw[5999].fold).to.equal(9);
    expect(() => binPairs([true, false])).to.throw(
      '10 folds need at least 10 pairs but there are 2',
    );
  });

  for (const name of ['pairs-py2.bin', 'pairs-p2.bin', 'pairs-p4.bin']) {
    it(`decodes ${name} through the decode pool to the pixels of the image files`, async () => {
      const file = path.join(FIXTURES, name);
      const loaded = await loadVerificationBin(file, { threads: 2 });
      const fromFiles = await loadImages(
        sets.pairs.images.map((f) => path.join(FIXTURES, 'images', f)),
        { threads: 2 },
      );
      expect([loaded.images.n, loaded.images.height, loaded.images.width]).to.deep.equal([
        40, 16, 16,
      ]);
      expect(Buffer.from(loaded.images.images).equals(Buffer.from(fromFiles.images))).to.equal(
        true,
      );
      expect(loaded.pairs.map((q) => q.same)).to.deep.equal(sets.pairs.issame);
      expect(loaded.pairs.map((q) => q.fold)).to.deep.equal(
        Array.from({ length: 20 }, (_, i) => Math.floor(i / 2)),
      );
      expect(loaded.file).to.equal(file);
    });
  }

  it('unpickles on a worker thread, never on the event loop', async () => {
    // This thread's parsers fail: the images must come from the worker's own copy.
    const format = binFormat as Record<string, unknown>;
    const saved = { parse: format.parseVerificationBin, file: format.parseVerificationBinFile };
    format.parseVerificationBin = format.parseVerificationBinFile = () => {
      throw new Error('unpickled on the main thread');
    };
    let loaded;
    try {
      loaded = await loadVerificationBin(path.join(FIXTURES, 'pairs-p4.bin'), { threads: 1 });
    } finally {
      format.parseVerificationBin = saved.parse;
      format.parseVerificationBinFile = saved.file;
    }
    expect([loaded.images.n, loaded.pairs.length]).to.deep.equal([40, 20]);
    expect(loaded.pairs.map((q) => q.same)).to.deep.equal(sets.pairs.issame);
  });

  it("centre-crops 112x112 images to a 112x96 net's input: 8 columns off each side", async () => {
    const file = path.join(FIXTURES, 'mixed-p5.bin');
    const loaded = await loadVerificationBin(file, {
      transforms: inputTransforms(inputSizeOf('sphere20')),
      folds: 2,
      threads: 2,
    });
    const { images, height, width, n } = loaded.images;
    expect([n, height, width]).to.deep.equal([4, 112, 96]);
    // Images 2 and 3 are grid-112.png, whose pixel (x, y) is (2x, 2y, x xor y).
    for (const k of [2, 3]) {
      const base = k * height * width * 3;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const i = base + (y * width + x) * 3;
          const want = [(2 * (x + 8)) & 255, (2 * y) & 255, (x + 8) ^ y];
          if (images[i] !== want[0] || images[i + 1] !== want[1] || images[i + 2] !== want[2]) {
            expect(
              [images[i], images[i + 1], images[i + 2]],
              `image ${k} (${x}, ${y})`,
            ).to.deep.equal(want);
          }
        }
      }
    }
    expect(loaded.pairs.map((q) => [q.a, q.b, q.same, q.fold])).to.deep.equal([
      [0, 1, false, 0],
      [2, 3, true, 1],
    ]);
  });

  it('names the .bin and the image index when an image does not decode', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-bin-'));
    const file = path.join(dir, 'bad.bin');
    const png = await fs.readFile(path.join(FIXTURES, 'images', 'id0_0.png'));
    // Protocol 3: ([png, png, png, b'nope'], [True, False]) built opcode by opcode.
    const len = Buffer.alloc(4);
    len.writeUInt32LE(png.length);
    const image = Buffer.concat([Buffer.from([0x42]), len, png]);
    await fs.writeFile(
      file,
      Buffer.concat([
        Buffer.from([0x80, 3, 0x5d, 0x28]),
        image,
        image,
        image,
        Buffer.from([0x43, 4]),
        Buffer.from('nope'),
        Buffer.from([0x65, 0x5d, 0x28, 0x88, 0x89, 0x65, 0x86, 0x2e]),
      ]),
    );
    try {
      await loadVerificationBin(file, { folds: 2, threads: 1 });
      expect.fail('expected an error');
    } catch (err) {
      expect((err as Error).message).to.match(/cannot decode .*bad\.bin#3: .*onBadImage: 'skip'/);
    }
    const skipping = await loadVerificationBin(file, { folds: 2, threads: 1, onBadImage: 'skip' });
    expect(skipping.images.n).to.equal(3);
    expect(skipping.pairs).to.deep.equal([{ a: 0, b: 1, same: true, fold: 0, line: 1 }]);
    expect(skipping.skippedPairs.length).to.equal(1);
    expect(skipping.skippedPairs[0].line).to.equal(2);
    expect(skipping.skippedPairs[0].reason).to.match(/bad\.bin#3: /);
    try {
      await loadVerificationBin(path.join(dir, 'missing.bin'));
      expect.fail('expected an error');
    } catch (err) {
      expect((err as Error).message).to.match(/verification file .*missing.bin does not exist/);
    }
  });
});

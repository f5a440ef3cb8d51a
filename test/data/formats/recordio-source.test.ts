import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordIOSource } from '../../../lib/data/formats/recordio-source';
import { loadImages } from '../../../lib/data/load-images';
import { openSource } from '../../../lib/data/store/open-source';
import { Resize } from '../../../lib/data/transforms/resize';
import { Random } from '../../../lib/util/random';
import { FIXTURES, manifest } from './fixtures';
import { MAGIC_BYTES, insightfacePayloads, irPayload, writeRec } from './recordio-writer';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-rec-'));
}

/** Stand-ins for encoded images: distinct bytes, one of them holding the magic word. */
function fakeImages(labels: number[]): { label: number; bytes: Uint8Array }[] {
  return labels.map((label, i) => {
    const bytes = Uint8Array.from({ length: 37 + 5 * i }, (_, k) => (k * 31 + i * 7) & 0xff);
    // Payload offset 24 + 8 is 4-aligned: the writer must split this record there.
    if (i === 2) bytes.set(MAGIC_BYTES, 8);
    return { label, bytes };
  });
}

async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    expect((err as Error).message).to.match(pattern);
    return err as Error;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}

describe('recordIOSource (insightface .rec + .idx + property)', () => {
  const labels = [0, 0, 1, 2, 1, 2, 2];
  const images = fakeImages(labels);

  it('takes the images from record 0 range, their labels and bytes, leaving identity records out', async () => {
    const dir = await tempDir();
    const written = await writeRec(dir, insightfacePayloads(images), { property: '3,112,112\n' });
    const source = await recordIOSource(written.rec);
    try {
      expect(source.kind).to.equal('recordio');
      expect(source.location).to.equal(written.rec);
      expect(source.length).to.equal(images.length);
      expect(Array.from(source.labels)).to.deep.equal(labels);
      expect(source.classNames).to.deep.equal(['0', '1', '2']);
      expect(source.property).to.deep.equal({ classes: 3, height: 112, width: 112 });
      const all = await source.read(0, source.length);
      all.forEach((image, i) => {
        expect(image.name).to.equal(`${written.rec}#${i + 1}`);
        expect(image.label).to.equal(labels[i]);
        expect(Array.from(image.bytes!)).to.deep.equal(Array.from(images[i].bytes));
      });
      const middle = await source.read(2, 4);
      expect(middle.map((m) => m.name)).to.deep.equal([`${written.rec}#3`, `${written.rec}#4`]);
      expect(await source.read(3, 3)).to.deep.equal([]);
      await expectRejection(source.read(5, 8), /end 8 is past the 7 images/);
      await expectRejection(source.read(2, 1), /expected integers 0 <= start <= end/);
    } finally {
      await source.close();
    }
  });

  it('the split record really is split on disk', async () => {
    const dir = await tempDir();
    const written = await writeRec(dir, insightfacePayloads(images));
    const bytes = await fs.readFile(written.rec);
    const lrec = bytes.readUInt32LE(written.offsets[3] + 4); // record key 3 = image 2
    expect(lrec >>> 29).to.equal(1);
    expect(lrec & 0x1fffffff).to.equal(24 + 8);
  });

  it('takes every indexed key as an image, in index order, when record 0 has no range', async () => {
    const dir = await tempDir();
    const payloads = images.map((im) => irPayload({ label: im.label }, im.bytes));
    // Keys out of order in the index: the images follow the index's order, not the keys'.
    const keys = [0, 5, 1, 6, 2, 4, 3];
    const written = await writeRec(dir, payloads, { keys });
    const source = await recordIOSource(written.rec);
    try {
      expect(source.length).to.equal(payloads.length);
      expect(Array.from(source.labels)).to.deep.equal(labels);
      expect(source.classNames).to.deep.equal(['0', '1', '2']); // max label + 1 without property
      const all = await source.read(0, source.length);
      expect(all.map((a) => a.name)).to.deep.equal(keys.map((k) => `${written.rec}#${k}`));
      all.forEach((a, i) =>
        expect(Array.from(a.bytes!)).to.deep.equal(Array.from(images[i].bytes)),
      );
    } finally {
      await source.close();
    }
  });

  it('scans the .rec from its start when there is no .idx, to the same images', async () => {
    const dir = await tempDir();
    const written = await writeRec(dir, insightfacePayloads(images), { idx: false });
    const source = await recordIOSource(written.rec);
    try {
      expect(Array.from(source.labels)).to.deep.equal(labels);
      const all = await source.read(0, source.length);
      all.forEach((a, i) =>
        expect(Array.from(a.bytes!)).to.deep.equal(Array.from(images[i].bytes)),
      );
    } finally {
      await source.close();
    }
  });

  it('fingerprints the files it reads, changing when one does', async () => {
    const dir = await tempDir();
    const written = await writeRec(dir, insightfacePayloads(images), { property: '3,112,112' });
    const source = await recordIOSource(written.rec);
    const before = JSON.stringify(await source.fingerprint());
    await source.close();
    expect(before).to.contain(written.idx);
    await fs.writeFile(path.join(dir, 'property'), '40,112,112'); // a different size, whatever the clock

    const again = await recordIOSource(written.rec);
    try {
      expect(JSON.stringify(await again.fingerprint())).to.not.equal(before);
      expect(again.classNames.length).to.equal(40);
    } finally {
      await again.close();
    }
  });

  it('decodes the images of a .rec through the decode pool as the image files decode', async () => {
    const set = manifest().mixed;
    const files = [...new Set([...manifest().pairs.images.slice(0, 6), ...set.images])].map((f) =>
      path.join(FIXTURES, 'images', f),
    );
    const encoded: Uint8Array[] = await Promise.all(files.map((f) => fs.readFile(f)));
    // One JPEG more with a comment segment (FF FE, length 10) right after its SOI holding the
    // magic word at image offset 8, i.e. payload offset 32: its record is split there.
    const jpeg = await fs.readFile(path.join(FIXTURES, 'images', set.images[0]));
    const comment = [0xff, 0xfe, 0, 10, 0x20, 0x20, ...MAGIC_BYTES, 0x20, 0x20];
    encoded.push(Uint8Array.from([...jpeg.subarray(0, 2), ...comment, ...jpeg.subarray(2)]));
    files.push(path.join(FIXTURES, 'images', set.images[0]));
    const dir = await tempDir();
    const written = await writeRec(
      dir,
      insightfacePayloads(encoded.map((bytes, i) => ({ label: i % 3, bytes }))),
      { property: '3,112,112' },
    );
    const lastImage = written.offsets[encoded.length];
    expect((await fs.readFile(written.rec)).readUInt32LE(lastImage + 4) >>> 29).to.equal(1);
    const source = await recordIOSource(written.rec);
    try {
      const images = await source.read(0, source.length);
      const transforms = [new Resize([20, 24])];
      const fromRec = await loadImages(
        images.map((image) => image.name),
        { bytes: images.map((image) => image.bytes!), transforms, threads: 2 },
      );
      const fromFiles = await loadImages(files, { transforms, threads: 2 });
      expect(fromRec.n).to.equal(files.length);
      expect(Buffer.from(fromRec.images).equals(Buffer.from(fromFiles.images))).to.equal(true);
    } finally {
      await source.close();
    }
  });

  describe('bad input', () => {
    async function setUp(
      edit: (bytes: Buffer, offsets: number[]) => void,
      options: { property?: string; idx?: string } = {},
    ): Promise<string> {
      const dir = await tempDir();
      const written = await writeRec(dir, insightfacePayloads(images), {
        property: options.property,
      });
      const bytes = await fs.readFile(written.rec);
      edit(bytes, written.offsets);
      await fs.writeFile(written.rec, bytes);
      if (options.idx !== undefined) await fs.writeFile(written.idx, options.idx);
      return written.rec;
    }

    it('a missing .rec, or a missing index named explicitly', async () => {
      await expectRejection(recordIOSource('/nonexistent/train.rec'), /RecordIO file .* not exist/);
      const rec = await setUp(() => {});
      await expectRejection(
        recordIOSource(rec, { idx: '/nonexistent/x.idx' }),
        /RecordIO index \/nonexistent\/x.idx does not exist/,
      );
    });

    it('a .idx given where its .rec belongs, named, not read as a list of images', async () => {
      const rec = await setUp(() => {});
      const idx = rec.replace(/\.rec$/, '.idx');
      await expectRejection(
        openSource(idx),
        new RegExp(`${idx} belongs to ${rec}: give the \\.rec \\(its \\.idx is read beside it\\)`),
      );
    });

    it('a bad magic word in an image record, named by key and offset', async () => {
      let at = 0;
      const rec = await setUp((b, offsets) => {
        at = offsets[4];
        b[at] ^= 0xff;
      });
      await expectRejection(
        recordIOSource(rec),
        new RegExp(`${rec}: record key 4 at offset ${at}: expected the RecordIO magic`),
      );
    });

    it('an index offset past the end, a malformed line, a missing image key, no key 0', async () => {
      const rec = await setUp(() => {});
      const size = (await fs.stat(rec)).size;
      const idx = rec.replace(/rec$/, 'idx');
      const lines = (await fs.readFile(idx, 'utf8')).trim().split('\n');
      await fs.writeFile(
        idx,
        [...lines.slice(0, 3), `3\t${size + 4}`, ...lines.slice(4)].join('\n'),
      );
      await expectRejection(
        recordIOSource(rec),
        new RegExp(`train.idx:4: the offset ${size + 4} of key 3 is past the end of .*train.rec`),
      );
      await fs.writeFile(idx, [...lines.slice(0, 2), '2 96', ...lines.slice(3)].join('\n'));
      await expectRejection(recordIOSource(rec), /train.idx:3: expected 'key<TAB>offset'/);
      await fs.writeFile(idx, [...lines.slice(0, 5), ...lines.slice(6)].join('\n'));
      await expectRejection(
        recordIOSource(rec),
        /train.idx: no record with key 5, one of the images/,
      );
      await fs.writeFile(idx, lines.slice(1).join('\n'));
      await expectRejection(recordIOSource(rec), /train.idx: no record with key 0/);
      await fs.writeFile(idx, [...lines, lines[3]].join('\n'));
      await expectRejection(
        recordIOSource(rec),
        /train.idx:\d+: key 3 appears again \(first on line 4\)/,
      );
      await fs.writeFile(idx, 'x'.repeat(10000));
      await expectRejection(recordIOSource(rec), /train.idx:1: a line longer than 256/);
    });

    it('a record 0 range beyond the index, or with one label', async () => {
      const far = await setUp((b, o) => b.writeFloatLE(1e6, o[0] + 8 + 24));
      await expectRejection(
        recordIOSource(far),
        /record key 0 at offset 0: the header says the images are keys 1..999999, which 11 records/,
      );
      const one = await setUp((b, o) => b.writeUInt32LE(1, o[0] + 8));
      await expectRejection(
        recordIOSource(one),
        /record key 0 at offset 0: the header has 1 label/,
      );
    });

    it('an absurd flag in an image header, a label not below property classes', async () => {
      const rec = await setUp((b, o) => b.writeUInt32LE(0x7fffffff, o[2] + 8));
      await expectRejection(
        recordIOSource(rec),
        /record key 2 at offset \d+: the header's flag 2147483647 announces/,
      );
      const small = await setUp(() => {}, { property: '2,112,112' });
      await expectRejection(
        recordIOSource(small),
        /record key 4 at offset \d+: label 2 is not below the 2 classes of .*property/,
      );
      const bad = await setUp(() => {}, { property: '3;112;112' });
      await expectRejection(recordIOSource(bad), /property: expected 'classes,height,width'/);
    });

    it('trailing bytes after the last record when scanning without an index', async () => {
      const dir = await tempDir();
      const written = await writeRec(dir, insightfacePayloads(images), { idx: false });
      await fs.appendFile(written.rec, Uint8Array.from([1, 2, 3]));
      await expectRejection(
        recordIOSource(written.rec),
        /train.rec: record \d+ at offset \d+: the file ends at offset \d+, inside the header/,
      );
    });

    it('random byte flips and truncations give clean errors or readable records, never a hang', async () => {
      const dir = await tempDir();
      const written = await writeRec(dir, insightfacePayloads(images), { property: '3,112,112' });
      const original = await fs.readFile(written.rec);
      const idxText = await fs.readFile(written.idx);
      const rng = new Random(11);
      for (let trial = 0; trial < 150; trial++) {
        const bytes = Buffer.from(original);
        let cut = bytes.length;
        if (trial % 3 === 0) cut = Math.floor(rng.next() * bytes.length);
        else {
          for (let k = 0; k < 1 + (trial % 4); k++) {
            bytes[Math.floor(rng.next() * bytes.length)] = Math.floor(rng.next() * 256);
          }
        }
        await fs.writeFile(written.rec, bytes.subarray(0, cut));
        if (trial % 2) await fs.rm(written.idx, { force: true });
        else await fs.writeFile(written.idx, idxText);
        try {
          const source = await recordIOSource(written.rec);
          try {
            await source.read(0, source.length);
          } finally {
            await source.close();
          }
        } catch (err) {
          expect(err).to.be.instanceOf(Error);
          expect((err as Error).message).to.contain('train.');
        }
      }
    });
  });
});

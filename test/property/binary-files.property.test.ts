// Property tests of the binary readers: the image cache, insightface's RecordIO (.rec, .idx,
// property), the restricted unpickler behind verification .bin files, and gallery files. Valid
// files come from writers that share no code with the readers where there are such (the tests'
// own RecordIO writer, Python's pickles committed as fixtures), else from the library's writers;
// damaged ones must read as the very data written, something well-formed, a cache miss, or an
// error naming the file.
import { expect } from 'chai';
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { recordIOSource } from '../../lib/data/formats/recordio-source';
import { unpickle } from '../../lib/data/formats/pickle';
import { ImageCache, type CachedImages } from '../../lib/data/image-cache';
import { parseVerificationBin } from '../../lib/data/formats/verification-bin';
import { readGalleryFile, writeGalleryFile, type GalleryData } from '../../lib/models/gallery-file';
import { tempDir } from '../data/helpers';
import { FIXTURES } from '../data/formats/fixtures';
import { MAGIC_BYTES, irPayload, writeRec } from '../data/formats/recordio-writer';
import { applyAll, attempt, byteMutation, mutations, peakRssMb, runs, settings } from './property';

const cacheSpec = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    height: fc.integer({ min: 1, max: 4 }),
    width: fc.integer({ min: 1, max: 4 }),
    hasLabels: fc.boolean(),
  })
  .chain(({ n, height, width, hasLabels }) =>
    fc.record({
      n: fc.constant(n),
      height: fc.constant(height),
      width: fc.constant(width),
      images: fc.uint8Array({
        minLength: n * height * width * 3,
        maxLength: n * height * width * 3,
      }),
      labels: hasLabels
        ? fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: n, maxLength: n })
        : fc.constant(undefined),
      kept: fc.array(fc.nat(1000), { minLength: n, maxLength: n }),
      skipped: fc.array(
        fc.record({ index: fc.nat(1000), path: fc.string(), reason: fc.string() }),
        { maxLength: 3 },
      ),
    }),
  )
  .map((c): CachedImages => ({
    ...c,
    labels: c.labels && Int32Array.from(c.labels),
    kept: Int32Array.from(c.kept),
  }));

function sameSet(a: CachedImages, b: CachedImages): boolean {
  return (
    a.n === b.n &&
    a.height === b.height &&
    a.width === b.width &&
    Buffer.from(a.images).equals(Buffer.from(b.images)) &&
    JSON.stringify(a.labels && Array.from(a.labels)) ===
      JSON.stringify(b.labels && Array.from(b.labels)) &&
    JSON.stringify(Array.from(a.kept)) === JSON.stringify(Array.from(b.kept)) &&
    JSON.stringify(a.skipped) === JSON.stringify(b.skipped)
  );
}

/** A hit must at least be a consistent set (for files whose header a test forged). */
function consistent(s: CachedImages): boolean {
  return (
    s.images.length === s.n * s.height * s.width * 3 &&
    (s.labels === undefined || s.labels.length === s.n) &&
    s.kept.length === s.n &&
    s.skipped.every((k) => Number.isSafeInteger(k.index) && typeof k.path === 'string')
  );
}

/**
 * The file with its JSON header replaced by `json`, the header's length and CRC-32 recomputed
 * and the payload moved to the next multiple of 64 (the layout documented in image-cache.ts).
 */
function withHeader(file: Buffer, json: string): Buffer {
  const oldLength = file.readUInt32LE(12);
  const payload = file.subarray(Math.ceil((20 + oldLength) / 64) * 64);
  const body = Buffer.from(json, 'utf8');
  const head = Buffer.alloc(Math.ceil((20 + body.length) / 64) * 64);
  file.copy(head, 0, 0, 12);
  head.writeUInt32LE(body.length, 12);
  head.writeUInt32LE(zlib.crc32(body), 16);
  body.copy(head, 20);
  return Buffer.concat([head, payload]);
}

/** A header's field replaced: by a random JSON value, or removed. */
const headerEdit = fc.record({
  field: fc.constantFrom(
    'version',
    'n',
    'height',
    'width',
    'channels',
    'hasLabels',
    'digest',
    'payloadBytes',
    'crc32',
    'skipped',
  ),
  value: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
});

const recordSpec = fc.record({
  images: fc.array(
    fc.record({
      label: fc.integer({ min: 0, max: 5 }),
      bytes: fc.uint8Array({ maxLength: 48 }),
      magicAt: fc.option(fc.nat(11), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  insightface: fc.boolean(),
  property: fc.boolean(),
  idx: fc.boolean(),
});

type RecordCase = typeof recordSpec extends fc.Arbitrary<infer T> ? T : never;

/** The case's image bytes, some holding the magic word at a 4-aligned payload offset. */
function imageBytes(c: RecordCase): Uint8Array[] {
  return c.images.map(({ bytes, magicAt }) => {
    if (magicAt === undefined || bytes.length < 4 * magicAt + 4) return bytes;
    const out = bytes.slice();
    out.set(MAGIC_BYTES, 4 * magicAt);
    return out;
  });
}

async function writeCase(dir: string, c: RecordCase) {
  const images = imageBytes(c);
  const n = images.length;
  const payloads = c.images.map((image, i) => irPayload({ label: image.label }, images[i]));
  if (c.insightface) payloads.unshift(irPayload({ labels: [n + 1, n + 1] }, new Uint8Array(0)));
  const classes = Math.max(...c.images.map((i) => i.label)) + 1;
  return writeRec(dir, payloads, {
    idx: c.idx,
    property: c.property ? `${classes},112,112\n` : undefined,
  });
}

async function readAll(rec: string) {
  const source = await recordIOSource(rec);
  try {
    return { source, images: await source.read(0, source.length) };
  } finally {
    await source.close();
  }
}

describe('binary readers under random and damaged input (fast-check)', function () {
  this.timeout(600_000);
  const dir = tempDir('sphereface-property-binary-');
  let n = 0;
  const caseDir = () => {
    const d = path.join(dir, `case-${n++}`);
    fs.mkdirSync(d);
    return d;
  };
  const damage = mutations([byteMutation]);

  it(`the image cache gives back what it wrote for ${runs(200)} random sets`, async () => {
    await fc.assert(
      fc.asyncProperty(cacheSpec, async (set) => {
        const cache = new ImageCache(path.join(caseDir(), 'images.sfcache'));
        await cache.write('digest', set);
        const read = await cache.read('digest');
        expect('hit' in read && sameSet(read.hit, set)).to.equal(true);
        expect(await cache.read('other')).to.deep.equal({ miss: 'stale' });
      }),
      settings(runs(200)),
    );
  });

  it(`the image cache is never trusted when damaged: ${runs(1000)} damaged files read as a miss or as the very set written`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(cacheSpec, damage, async (set, list) => {
        const cache = new ImageCache(path.join(caseDir(), 'images.sfcache'));
        await cache.write('digest', set);
        fs.writeFileSync(cache.file, applyAll(fs.readFileSync(cache.file), list));
        const read = await attempt(cache.file, () => cache.read('digest'));
        const result = read.ok!;
        expect(read.error, 'read() never throws').to.equal(undefined);
        if ('hit' in result)
          expect(sameSet(result.hit, set), 'a hit is the set written').to.equal(true);
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  it(`the image cache checks a forged header (CRC recomputed) field by field: ${runs(500)} cases`, async () => {
    await fc.assert(
      fc.asyncProperty(
        cacheSpec,
        fc.array(headerEdit, { minLength: 1, maxLength: 3 }),
        async (set, edits) => {
          const cache = new ImageCache(path.join(caseDir(), 'images.sfcache'));
          await cache.write('digest', set);
          const file = fs.readFileSync(cache.file);
          const header = JSON.parse(
            file.toString('utf8', 20, 20 + file.readUInt32LE(12)),
          ) as Record<string, unknown>;
          for (const { field, value } of edits) header[field] = value;
          fs.writeFileSync(cache.file, withHeader(file, JSON.stringify(header)));
          const read = await attempt(cache.file, () => cache.read('digest'));
          expect(read.error, 'read() never throws').to.equal(undefined);
          const result = read.ok!;
          if ('hit' in result) expect(consistent(result.hit), 'a hit is consistent').to.equal(true);
        },
      ),
      settings(runs(500)),
    );
  });

  it(`recordIOSource reads ${runs(200)} random .rec/.idx/property sets exactly`, async () => {
    await fc.assert(
      fc.asyncProperty(recordSpec, async (c) => {
        // Without a property file the classes are the labels 0..max, each with an image.
        fc.pre(c.property || Math.max(...c.images.map((i) => i.label)) < c.images.length);
        const d = caseDir();
        const written = await writeCase(d, c);
        const read = await attempt(d, () => readAll(written.rec));
        expect(read.error).to.equal(undefined);
        const { source, images } = read.ok!;
        const bytes = imageBytes(c);
        expect(Array.from(source.labels)).to.deep.equal(c.images.map((i) => i.label));
        expect(images.map((i) => Array.from(i.bytes!))).to.deep.equal(
          bytes.map((b) => Array.from(b)),
        );
      }),
      settings(runs(200)),
    );
  });

  it(`recordIOSource gives well-formed images or an error naming the file for ${runs(1000)} damaged sets`, async () => {
    const peak = peakRssMb();
    const which = fc.constantFrom('train.rec', 'train.idx', 'property');
    await fc.assert(
      fc.asyncProperty(recordSpec, which, damage, async (c, name, list) => {
        const d = caseDir();
        const written = await writeCase(d, c);
        const file = path.join(d, name);
        if (fs.existsSync(file)) fs.writeFileSync(file, applyAll(fs.readFileSync(file), list));
        const read = await attempt(d, () => readAll(written.rec));
        if (!read.ok) return;
        const { source, images } = read.ok;
        expect(images).to.have.length(source.length);
        images.forEach((image, i) => {
          expect(image.label).to.equal(source.labels[i]);
          expect(image.label).to.be.within(0, source.classNames.length - 1);
          expect(image.bytes).to.be.instanceOf(Uint8Array);
        });
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  const gallerySpec = fc
    .record({ rows: fc.integer({ min: 0, max: 5 }), dim: fc.integer({ min: 1, max: 6 }) })
    .chain(({ rows, dim }) =>
      fc.record({
        header: fc.record({
          dim: fc.constant(dim),
          flip: fc.constantFrom('concat' as const, 'sum' as const, 'none' as const),
          arch: fc.string({ maxLength: 12 }),
          names: fc.array(fc.string({ maxLength: 8 }), { minLength: rows, maxLength: rows }),
          paths: fc.array(fc.string({ maxLength: 16 }), { minLength: rows, maxLength: rows }),
        }),
        embeddings: fc
          .array(fc.float({ noNaN: true }), { minLength: rows * dim, maxLength: rows * dim })
          .map((v) => Float32Array.from(v)),
      }),
    );

  const sameGallery = (a: GalleryData, b: GalleryData) =>
    JSON.stringify(a.header) === JSON.stringify(b.header) &&
    Buffer.from(a.embeddings.buffer).equals(Buffer.from(b.embeddings.buffer));

  it(`a gallery file reads back exactly, or damaged (${runs(1000)} cases) as the very gallery written or an error naming the file`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(gallerySpec, fc.option(damage, { nil: undefined }), async (data, list) => {
        const file = path.join(caseDir(), 'people.sfg');
        await writeGalleryFile(file, data);
        if (list) fs.writeFileSync(file, applyAll(fs.readFileSync(file), list));
        const read = await attempt(file, () => readGalleryFile(file));
        if (!list) expect(read.error).to.equal(undefined);
        if (read.ok) expect(sameGallery(read.ok, data), 'the gallery written').to.equal(true);
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  const fixtures = fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => new Uint8Array(fs.readFileSync(path.join(FIXTURES, f))));

  it(`parseVerificationBin gives a well-formed set or an error naming the file for ${runs(2000)} damaged pickles (Python 2 and 3, protocols 2 to 5)`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fixtures), damage, async (bytes, list) => {
        const read = await attempt('x.bin', () =>
          parseVerificationBin(applyAll(bytes, list), 'x.bin'),
        );
        if (!read.ok) return;
        expect(read.ok.images.length).to.equal(2 * read.ok.same.length);
        expect(read.ok.images.every((i) => i instanceof Uint8Array)).to.equal(true);
        expect(read.ok.same.every((s) => typeof s === 'boolean')).to.equal(true);
      }),
      settings(runs(2000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  // Opcode streams: the supported opcodes (and some others) with random arguments, so the
  // stack machine meets every order of MARK, memo, tuple and list operations.
  const opcode = fc.oneof(
    fc.constantFrom(
      [0x28], // MARK
      [0x2e], // STOP
      [0x5d], // EMPTY_LIST
      [0x61], // APPEND
      [0x65], // APPENDS
      [0x29], // EMPTY_TUPLE
      [0x85],
      [0x86],
      [0x87],
      [0x74], // TUPLE
      [0x88],
      [0x89], // NEWTRUE, NEWFALSE
      [0x94], // MEMOIZE
      [0x52], // REDUCE
      [0x7d], // EMPTY_DICT (unsupported)
    ),
    fc
      .tuple(fc.constantFrom(0x43, 0x55, 0x8c, 0x4b, 0x71, 0x68), fc.nat(255))
      .map(([op, n]) => [op, n]),
    fc
      .tuple(
        fc.constantFrom(0x42, 0x54, 0x58, 0x4a, 0x72, 0x6a),
        fc.constantFrom(0, 1, 3, 255, 0x7fffffff, 0xffffffff),
      )
      .map(([op, n]) => [op, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]),
    fc
      .tuple(fc.constantFrom(0x8e, 0x8d, 0x95), fc.constantFrom(0n, 2n, 2n ** 40n, 2n ** 64n - 1n))
      .map(([op, n]) => [
        op,
        ...Array.from({ length: 8 }, (_, k) => Number((n >> BigInt(8 * k)) & 0xffn)),
      ]),
    fc.uint8Array({ maxLength: 8 }).map((b) => Array.from(b)),
    fc.constantFrom(
      Array.from(Buffer.from('c_codecs\nencode\n', 'latin1')),
      Array.from(Buffer.from('c__builtin__\nbytes\n', 'latin1')),
      Array.from(Buffer.from('cos\nsystem\n', 'latin1')),
    ),
  );

  it(`unpickle returns a value or an error naming the file for ${runs(3000)} random opcode streams`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 6 }),
        fc.array(opcode, { maxLength: 40 }),
        async (protocol, ops) => {
          const bytes = Uint8Array.from([0x80, protocol, ...ops.flat()]);
          await attempt('x.bin', () => unpickle(bytes, 'x.bin'));
        },
      ),
      settings(runs(3000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));
});

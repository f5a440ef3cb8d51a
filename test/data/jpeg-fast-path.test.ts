import { expect } from 'chai';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { DecodePool, type DecodeOutcome } from '../../lib/data/decode-pool';
import { decodeImage } from '../../lib/data/image-decoder';
import { native } from '../../lib/native';
import { encode, gradient, withExifOrientation } from './helpers';

// The decode workers' libjpeg-turbo path (native/data/jpeg_decoder.cc) against Pillow's committed
// pixels and against sharp's decode of the same bytes on the main thread.
const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'decode');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as {
  images: Record<string, { sha256: string }>;
};
const jpegFixtures = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.jpg'));
// What the fast path must leave to sharp: CMYK, and every EXIF orientation but 1.
const declinedFixtures = new Set([
  'jpeg-cmyk.jpg',
  ...[2, 3, 4, 5, 6, 7, 8].map((o) => `jpeg-exif-${o}.jpg`),
]);

/** `jpeg` with two stray bytes after its first marker segment: a libjpeg warning, not an error. */
function withStrayBytes(jpeg: Buffer): Buffer {
  const next = 4 + jpeg.readUInt16BE(4);
  return Buffer.concat([jpeg.subarray(0, next), Buffer.from([0, 0]), jpeg.subarray(next)]);
}

const sha256 = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

/** Every outcome of one pool run over in-memory images, by job index. */
async function decodeOnPool(pool: DecodePool, images: Uint8Array[]): Promise<DecodeOutcome[]> {
  const out: DecodeOutcome[] = [];
  const jobs = images.map((bytes, i) => ({ path: `image-${i}.jpg`, bytes: bytes.slice() }));
  await pool.run(jobs, [], (i, outcome) => (out[i] = outcome));
  return out;
}

/**
 * Decodes `images` on a fresh pool whose workers start with SPHEREFACE_NATIVE_JPEG set to
 * `setting` (workers copy the environment when they start, during the run).
 */
async function decodeWith(
  setting: string | undefined,
  images: Uint8Array[],
  maxPixels?: number,
): Promise<DecodeOutcome[]> {
  const before = process.env.SPHEREFACE_NATIVE_JPEG;
  if (setting === undefined) delete process.env.SPHEREFACE_NATIVE_JPEG;
  else process.env.SPHEREFACE_NATIVE_JPEG = setting;
  const pool = new DecodePool({ threads: 2, maxPixels });
  try {
    return await decodeOnPool(pool, images);
  } finally {
    await pool.close();
    if (before === undefined) delete process.env.SPHEREFACE_NATIVE_JPEG;
    else process.env.SPHEREFACE_NATIVE_JPEG = before;
  }
}

/** JPEGs sharp encodes in the ways cameras and datasets do: subsamplings, progressive, qualities. */
async function variedJpegs(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const sizes: [number, number][] = [
    [250, 250],
    [61, 47],
    [17, 33],
    [1, 1],
  ];
  let k = 0;
  for (const [width, height] of sizes) {
    for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
      for (const progressive of [false, true]) {
        const rgb = Buffer.alloc(width * height * 3);
        for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7919 + k * 104729) % 251;
        out.push(
          await sharp(rgb, { raw: { width, height, channels: 3 } })
            .jpeg({ quality: 60 + 10 * (k % 4), chromaSubsampling, progressive })
            .toBuffer(),
        );
        k++;
      }
    }
  }
  const gray = Buffer.alloc(40 * 30, 0).map((_, i) => (i * 13) % 256);
  out.push(
    await sharp(gray, { raw: { width: 40, height: 30, channels: 1 } })
      .jpeg()
      .toBuffer(),
  );
  return out;
}

describe('plain JPEGs through libjpeg-turbo in the decode workers', function () {
  this.timeout(60000);
  const decoder = native().jpegDecoder();
  before(function () {
    if (decoder !== '') return;
    // scripts/setup installs libjpeg-dev: where its headers are, the build must have the path.
    if (process.env.SPHEREFACE_REQUIRE_TORCH === '1' && fs.existsSync('/usr/include/jpeglib.h'))
      throw new Error('libjpeg-dev is installed but the addon was built without libjpeg-turbo');
    this.skip();
  });

  it('names libjpeg-turbo', () => {
    expect(decoder).to.match(/^libjpeg-turbo \d+\.\d+\.\d+$/);
  });

  it("gives Pillow's bytes for every plain fixture and declines CMYK and EXIF orientations", () => {
    for (const name of jpegFixtures) {
      const result = native().decodeJpeg(fs.readFileSync(path.join(FIXTURES, name)), 50e6);
      if (declinedFixtures.has(name)) {
        expect(result, name).to.be.a('string');
      } else {
        expect(result, name).to.be.an('object');
        const image = result as Exclude<typeof result, string>;
        expect(image.data.length, name).to.equal(image.width * image.height * 3);
        expect(sha256(image.data), name).to.equal(expected.images[name].sha256);
      }
    }
  });

  it('decodes an EXIF orientation of 1 and declines a bad EXIF block, a warning, an error, the limit', async () => {
    const jpeg = await encode(24, 16, gradient);
    const plain = native().decodeJpeg(jpeg, 50e6);
    expect(plain).to.be.an('object');
    const upright = native().decodeJpeg(withExifOrientation(jpeg, 1), 50e6);
    expect(upright).to.deep.equal(plain);
    expect(native().decodeJpeg(withExifOrientation(jpeg, 6), 50e6)).to.match(/orientation/);
    // EXIF whose first IFD lies past the block's end: unreadable, so sharp decides.
    const broken = withExifOrientation(jpeg, 1);
    broken.writeUInt32BE(0xfff0, 2 + 4 + 6 + 4);
    expect(native().decodeJpeg(broken, 50e6)).to.match(/orientation/);
    // Stray bytes before a marker: a libjpeg warning that sharp (and Pillow) read through.
    expect(native().decodeJpeg(withStrayBytes(jpeg), 50e6)).to.match(/extraneous/i);
    expect(native().decodeJpeg(jpeg.subarray(0, jpeg.length - 40), 50e6)).to.match(/premature/i);
    expect(native().decodeJpeg(Buffer.from('not a jpeg'), 50e6)).to.match(/not a jpeg/i);
    expect(native().decodeJpeg(jpeg, 24 * 16 - 1)).to.match(/pixel limit/);
    expect(native().decodeJpeg(jpeg, 24 * 16)).to.be.an('object');
    expect(() => native().decodeJpeg(jpeg, 0)).to.throw(/maxPixels/);
  });

  it("damaged files: decoded to sharp's bytes or declined, never a crash (seeded byte flips)", async () => {
    let state = 12345;
    const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
    const sources = ['jpeg-420.jpg', 'jpeg-444.jpg', 'jpeg-progressive.jpg', 'jpeg-gray.jpg'].map(
      (name) => fs.readFileSync(path.join(FIXTURES, name)),
    );
    let decoded = 0;
    let declined = 0;
    for (let i = 0; i < 400; i++) {
      const damaged = Buffer.from(sources[i % sources.length]);
      const flips = 1 + (next() % 4);
      for (let f = 0; f < flips; f++)
        damaged[2 + (next() % (damaged.length - 2))] ^= 1 << (next() % 8);
      const result = native().decodeJpeg(damaged, 50e6);
      if (typeof result === 'string') {
        declined++;
        continue;
      }
      decoded++;
      const reference = await decodeImage(damaged); // sharp, on this (the main) thread
      expect([result.width, result.height], `damaged ${i}`).to.deep.equal([
        reference.width,
        reference.height,
      ]);
      expect(Buffer.from(result.data).equals(Buffer.from(reference.data)), `damaged ${i}`).to.equal(
        true,
      );
    }
    // Both outcomes occur: flips in the entropy-coded data often still decode.
    expect(decoded, 'decoded').to.be.greaterThan(20);
    expect(declined, 'declined').to.be.greaterThan(20);
  });

  it("workers decode the fixtures to Pillow's bytes, with and without the fast path", async () => {
    const images = jpegFixtures.map((name) => fs.readFileSync(path.join(FIXTURES, name)));
    for (const setting of [undefined, '0']) {
      const outcomes = await decodeWith(setting, images);
      outcomes.forEach((outcome, i) => {
        if (!outcome.ok) throw new Error(`${jpegFixtures[i]}: ${outcome.error}`);
        expect(sha256(outcome.image.data), `${jpegFixtures[i]} (${setting})`).to.equal(
          expected.images[jpegFixtures[i]].sha256,
        );
      });
    }
  });

  it('workers refuse a JPEG over the pixel limit with the general message', async () => {
    const jpeg = await encode(24, 16, gradient);
    const [over] = await decodeWith(undefined, [jpeg], 24 * 16 - 1);
    expect(over.ok).to.equal(false);
    expect((over as { error: string }).error).to.match(/24x16 = 384 pixels, over the limit of 383/);
    const [within] = await decodeWith(undefined, [jpeg], 24 * 16);
    expect(within.ok).to.equal(true);
  });

  it("workers' pixels equal sharp's on the main thread for varied encodings, and bad files fail alike", async () => {
    const images = await variedJpegs();
    const jpeg = await encode(24, 16, gradient);
    images.push(withStrayBytes(jpeg), jpeg.subarray(0, jpeg.length - 40));
    const outcomes = await decodeWith(undefined, images);
    for (let i = 0; i < images.length; i++) {
      const outcome = outcomes[i];
      const reference = await decodeImage(images[i]).catch((err: Error) => err);
      if (reference instanceof Error) {
        expect(outcome.ok, `image ${i}`).to.equal(false);
        continue;
      }
      if (!outcome.ok) throw new Error(`image ${i}: ${outcome.error}`);
      expect([outcome.image.width, outcome.image.height]).to.deep.equal([
        reference.width,
        reference.height,
      ]);
      expect(
        Buffer.from(outcome.image.data).equals(Buffer.from(reference.data)),
        `image ${i}`,
      ).to.equal(true);
    }
    // The truncated file fails in both; the stray bytes are read through in both.
    expect(outcomes[images.length - 1].ok).to.equal(false);
    expect(outcomes[images.length - 2].ok).to.equal(true);
  });
});

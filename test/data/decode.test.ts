import { expect } from 'chai';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeImage } from '../../lib/data/image-decoder';
import { bmpSize, jpegComponents } from '../../lib/data/image-header';
import { bombPng } from './decode-helpers';
import { encode, gradient, rgbaOf } from './helpers';
import { expectReject, withExifOrientation } from './helpers';

// pngjs (jimp's PNG codec) ships no types; this is the part the tests use.
interface PngImage {
  data: Buffer;
}
interface PngModule {
  PNG: {
    new (options: {
      width: number;
      height: number;
      colorType?: number;
      inputColorType?: number;
      bitDepth?: number;
    }): PngImage;
    sync: {
      write(png: PngImage, options?: { colorType?: number; inputColorType?: number }): Buffer;
    };
  };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PNG } = require('pngjs') as PngModule;

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'decode');

interface Expected {
  width: number;
  height: number;
  mode: string;
  sha256: string;
  notPillow?: string;
}

/** Where stored pixel (x, y) of a w x h image lands for EXIF orientation o (the EXIF table). */
function orient(o: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (o) {
    case 2:
      return [w - 1 - x, y];
    case 3:
      return [w - 1 - x, h - 1 - y];
    case 4:
      return [x, h - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [h - 1 - y, x];
    case 7:
      return [h - 1 - y, w - 1 - x];
    default:
      return [y, w - 1 - x];
  }
}

describe('image decoding', () => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as {
    pillow: string;
    images: Record<string, Expected>;
  };

  describe(`equals Pillow's pixels (fixtures decoded by Pillow ${expected.pillow})`, () => {
    for (const [name, want] of Object.entries(expected.images)) {
      const what = want.notPillow ? ` (not Pillow: ${want.notPillow})` : '';
      it(`${name}, ${want.mode}${what}`, async () => {
        const got = await decodeImage(fs.readFileSync(path.join(FIXTURES, name)));
        expect([got.width, got.height]).to.deep.equal([want.width, want.height]);
        expect(got.data.length).to.equal(want.width * want.height * 3);
        expect(crypto.createHash('sha256').update(got.data).digest('hex')).to.equal(want.sha256);
      });
    }
  });

  it('covers what it should: every EXIF orientation, chroma layouts, PNG modes, WebP, GIF, BMP', () => {
    const names = Object.keys(expected.images);
    for (let o = 2; o <= 8; o++) expect(names).to.include(`jpeg-exif-${o}.jpg`);
    for (const n of ['jpeg-420.jpg', 'jpeg-444.jpg', 'jpeg-progressive.jpg', 'jpeg-gray.jpg'])
      expect(names).to.include(n);
    for (const n of ['png-rgba.png', 'png-palette.png', 'png-gray.png', 'png-rgb16.png'])
      expect(names).to.include(n);
    for (const n of ['webp-lossy.webp', 'gif.gif', 'bmp-24.bmp']) expect(names).to.include(n);
  });

  it('turns a hand-made EXIF orientation upright by the EXIF table', async () => {
    const w = 12;
    const h = 7;
    const plain = await encode(w, h, gradient);
    const stored = await decodeImage(plain);
    for (let o = 2; o <= 8; o++) {
      const got = await decodeImage(withExifOrientation(plain, o));
      const [ow, oh] = o > 4 ? [h, w] : [w, h];
      expect([got.width, got.height], `orientation ${o}`).to.deep.equal([ow, oh]);
      const want = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [ux, uy] = orient(o, x, y, w, h);
          want.set(stored.data.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (uy * ow + ux) * 3);
        }
      }
      expect(Buffer.from(got.data).equals(want), `orientation ${o}`).to.equal(true);
    }
  });

  it('turns grayscale PNG into three equal channels and drops alpha without compositing', async () => {
    const gray = new PNG({ width: 5, height: 4, colorType: 0, inputColorType: 0, bitDepth: 8 });
    const grayValues = Buffer.from(Array.from({ length: 20 }, (_, i) => i * 12));
    gray.data = Buffer.alloc(20 * 4);
    for (let i = 0; i < 20; i++)
      gray.data.set([grayValues[i], grayValues[i], grayValues[i], 255], i * 4);
    const grayBytes = PNG.sync.write(gray, { colorType: 0, inputColorType: 6 });
    expect(grayBytes[25], 'PNG colour type byte').to.equal(0);
    const g = await decodeImage(grayBytes);
    for (let i = 0; i < 20; i++)
      expect(Array.from(g.data.subarray(i * 3, i * 3 + 3))).to.deep.equal([
        grayValues[i],
        grayValues[i],
        grayValues[i],
      ]);

    const rgba = new PNG({ width: 6, height: 3 });
    rgba.data = rgbaOf(6, 3, gradient, (x) => x * 40); // alpha 0 in the first column
    const d = await decodeImage(PNG.sync.write(rgba));
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 6; x++)
        expect(Array.from(d.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3))).to.deep.equal(
          gradient(x, y),
        );
  });

  it('decodes BMP (jimp) losslessly', async () => {
    const d = await decodeImage(await encode(9, 5, gradient, 'image/bmp'));
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 9; x++)
        expect(Array.from(d.data.subarray((y * 9 + x) * 3, (y * 9 + x) * 3 + 3))).to.deep.equal(
          gradient(x, y),
        );
  });

  it('reads through libjpeg warnings as Pillow does (extraneous bytes before a marker)', async () => {
    const clean = fs.readFileSync(path.join(FIXTURES, 'jpeg-420.jpg'));
    let p = 2;
    while (!(clean[p] === 0xff && clean[p + 1] === 0xda)) p += 2 + clean.readUInt16BE(p + 2);
    const noisy = Buffer.concat([clean.subarray(0, p), Buffer.from([1, 2, 3]), clean.subarray(p)]);
    const got = await decodeImage(noisy);
    const hash = crypto.createHash('sha256').update(got.data).digest('hex');
    expect(hash).to.equal(expected.images['jpeg-420.jpg'].sha256);
  });

  it('rejects zero-byte, truncated and non-image files with what is wrong', async () => {
    const jpeg = await encode(40, 40, gradient);
    await expectReject(decodeImage(new Uint8Array(0)), /zero-byte file/);
    await expectReject(
      decodeImage(jpeg.subarray(0, Math.floor(jpeg.length / 2))),
      /truncated or corrupt JPEG \(.*premature end/i,
    );
    await expectReject(
      decodeImage(Buffer.from('hello, not an image')),
      /not a JPEG, PNG, WebP, GIF or BMP image \(starts with 68 65 6c 6c\)/,
    );
    await expectReject(
      decodeImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')),
      /not a JPEG, PNG, WebP, GIF or BMP image/,
    );
    const png = await encode(40, 40, gradient, 'image/png');
    await expectReject(decodeImage(png.subarray(0, 60)), /truncated or corrupt PNG/);
    const webp = fs.readFileSync(path.join(FIXTURES, 'webp-lossy.webp'));
    await expectReject(decodeImage(webp.subarray(0, 100)), /truncated or corrupt WEBP/);
    await expectReject(decodeImage(Buffer.from('BM')), /truncated or corrupt BMP/);
  });

  describe('pixel limit', () => {
    it('refuses a PNG declaring 30000x30000 from its header, fast, with its size', async () => {
      const bomb = bombPng(30000, 30000);
      expect(bomb.length).to.be.below(200_000);
      const before = process.memoryUsage().rss;
      const started = Date.now();
      await expectReject(
        decodeImage(bomb),
        /^30000x30000 = 900 megapixels, over the limit of 50 megapixels$/,
      );
      // Decoding would take 2.7 GB and over a minute; the refusal takes milliseconds.
      expect(Date.now() - started).to.be.below(5000);
      expect(process.memoryUsage().rss - before).to.be.below(256 * 2 ** 20);
    });

    it('takes images of exactly maxPixels and refuses one more, for every format', async () => {
      const files = {
        JPEG: await encode(20, 10, gradient),
        PNG: await encode(20, 10, gradient, 'image/png'),
        BMP: await encode(20, 10, gradient, 'image/bmp'),
      };
      for (const [format, bytes] of Object.entries(files)) {
        const ok = await decodeImage(bytes, { maxPixels: 200 });
        expect([ok.width, ok.height], format).to.deep.equal([20, 10]);
        await expectReject(
          decodeImage(bytes, { maxPixels: 199 }),
          /^20x10 = 200 pixels, over the limit of 199 pixels$/,
        );
      }
      const webp = fs.readFileSync(path.join(FIXTURES, 'webp-lossy.webp'));
      await expectReject(
        decodeImage(webp, { maxPixels: 61 * 47 - 1 }),
        /^61x47 = 2867 pixels, over/,
      );
      const gif = fs.readFileSync(path.join(FIXTURES, 'gif.gif'));
      await expectReject(
        decodeImage(gif, { maxPixels: 61 * 47 - 1 }),
        /^61x47 = 2867 pixels, over/,
      );
      // No limit: a header alone gets as far as the decoder, which finds no pixel data.
      await expectReject(
        decodeImage(bombPng(3000, 3000).subarray(0, 33), { maxPixels: Infinity }),
        /truncated or corrupt PNG/,
      );
    });

    it('checks maxPixels', async () => {
      for (const bad of [0, -1, 1.5, NaN, '100'])
        await expectReject(
          decodeImage(new Uint8Array(1), { maxPixels: bad as number }),
          /decodeImage: expected a positive integer or Infinity for maxPixels/,
        );
    });
  });

  it('reads the header facts it needs', () => {
    const jpeg = fs.readFileSync(path.join(FIXTURES, 'jpeg-420.jpg'));
    expect(jpegComponents(jpeg)).to.equal(3);
    expect(jpegComponents(fs.readFileSync(path.join(FIXTURES, 'jpeg-cmyk.jpg')))).to.equal(4);
    expect(jpegComponents(fs.readFileSync(path.join(FIXTURES, 'jpeg-gray.jpg')))).to.equal(1);
    expect(jpegComponents(jpeg.subarray(0, 20))).to.equal(0);
    expect(bmpSize(fs.readFileSync(path.join(FIXTURES, 'bmp-24.bmp')))).to.deep.equal({
      width: 61,
      height: 47,
    });
    expect(bmpSize(Buffer.from('BM'))).to.equal(null);
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { decodeImage } from '../../lib/data/image-decoder';
import { encode, gradient, rgbaOf, tempDir } from './helpers';
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

function rgbFromJimp(bitmap: { data: Uint8Array; width: number; height: number }): Uint8Array {
  const out = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) out.set(bitmap.data.subarray(i, i + 3), j);
  return out;
}

describe('image decoding', () => {
  it('decodes a JPEG to the same RGB pixels as jimp', async () => {
    const bytes = await encode(37, 23, gradient);
    const ours = await decodeImage(bytes);
    const theirs = (await Jimp.fromBuffer(bytes)).bitmap;
    expect([ours.width, ours.height]).to.deep.equal([37, 23]);
    expect(Buffer.from(ours.data).equals(Buffer.from(rgbFromJimp(theirs)))).to.equal(true);
  });

  it('decodes JPEGs of different sizes in a row identically to jimp (pooled blocks start clean)', async () => {
    // 600x400 needs more coefficient blocks than the decoder's initial pool holds.
    for (const [w, h, shift] of [
      [250, 250, 0],
      [600, 400, 3],
      [31, 17, 7],
      [600, 400, 11],
      [250, 250, 5],
    ]) {
      const bytes = await encode(w, h, (x, y) => gradient(x + shift, y * shift));
      const ours = await decodeImage(bytes);
      const theirs = (await Jimp.fromBuffer(bytes)).bitmap;
      expect(Buffer.from(ours.data).equals(Buffer.from(rgbFromJimp(theirs))), `${w}x${h}`).to.equal(
        true,
      );
    }
    expect(Int32Array.name, 'Int32Array restored').to.equal('Int32Array');
  });

  it('honours every EXIF orientation 2..8 as jimp does', async () => {
    const plain = await encode(12, 7, gradient);
    for (let orientation = 2; orientation <= 8; orientation++) {
      const bytes = withExifOrientation(plain, orientation);
      const ours = await decodeImage(bytes);
      const theirs = (await Jimp.fromBuffer(bytes)).bitmap;
      const swapped = orientation > 4;
      expect([ours.width, ours.height], `orientation ${orientation}`).to.deep.equal(
        swapped ? [7, 12] : [12, 7],
      );
      expect(
        Buffer.from(ours.data).equals(Buffer.from(rgbFromJimp(theirs))),
        `orientation ${orientation}`,
      ).to.equal(true);
    }
  });

  it('turns grayscale PNG into three equal channels and drops alpha', async () => {
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
    rgba.data = rgbaOf(6, 3, gradient, (x) => x * 40);
    const d = await decodeImage(PNG.sync.write(rgba));
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 6; x++)
        expect(Array.from(d.data.subarray((y * 6 + x) * 3, (y * 6 + x) * 3 + 3))).to.deep.equal(
          gradient(x, y),
        );
  });

  it('decodes BMP', async () => {
    const d = await decodeImage(await encode(9, 5, gradient, 'image/bmp'));
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 9; x++)
        expect(Array.from(d.data.subarray((y * 9 + x) * 3, (y * 9 + x) * 3 + 3))).to.deep.equal(
          gradient(x, y),
        );
  });

  it('rejects zero-byte, truncated and non-image files with what is wrong', async () => {
    const jpeg = await encode(40, 40, gradient);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'x.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    await expectReject(decodeImage(new Uint8Array(0)), /zero-byte file/);
    await expectReject(
      decodeImage(fs.readFileSync(path.join(dir, 'x.jpg'))),
      /truncated or corrupt JPEG/,
    );
    await expectReject(
      decodeImage(Buffer.from('hello, not an image')),
      /not a JPEG, PNG or BMP image \(starts with 68 65 6c 6c\)/,
    );
    const png = await encode(40, 40, gradient, 'image/png');
    await expectReject(decodeImage(png.subarray(0, 60)), /truncated or corrupt PNG/);
  });
});

// Test images made on the fly with jimp (and pngjs for grayscale PNGs) in a temp folder; FIFOs and
// the checks that a reader refuses them at once.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { Jimp } from 'jimp';

export function tempDir(prefix = 'sphereface-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export type PixelFn = (x: number, y: number) => [number, number, number];

/** Smooth, asymmetric colours so orientation and resampling mistakes show. */
export const gradient: PixelFn = (x, y) => [
  (x * 3 + y) % 256,
  (y * 2 + 40) % 256,
  (x + y * 5 + 7) % 256,
];

export function rgbaOf(
  width: number,
  height: number,
  fn: PixelFn,
  alpha: (x: number, y: number) => number = () => 255,
) {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = fn(x, y);
      data.set([r, g, b, alpha(x, y)], (y * width + x) * 4);
    }
  }
  return data;
}

export function rgbOf(width: number, height: number, fn: PixelFn): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) out.set(fn(x, y), (y * width + x) * 3);
  return out;
}

export async function encode(
  width: number,
  height: number,
  fn: PixelFn,
  mime: 'image/jpeg' | 'image/png' | 'image/bmp' = 'image/jpeg',
): Promise<Buffer> {
  const image = new Jimp({ width, height, color: 0x000000ff });
  image.bitmap.data = rgbaOf(width, height, fn);
  if (mime === 'image/jpeg') return image.getBuffer(mime, { quality: 95 });
  return image.getBuffer(mime);
}

export async function writeImage(
  file: string,
  width: number,
  height: number,
  fn: PixelFn = gradient,
  mime: 'image/jpeg' | 'image/png' | 'image/bmp' = 'image/jpeg',
): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await encode(width, height, fn, mime));
  return file;
}

/** A JPEG with an EXIF APP1 block carrying `orientation`, inserted right after SOI. */
export function withExifOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8); // one entry
  tiff.writeUInt16BE(0x0112, 10);
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, body, jpeg.subarray(2)]);
}

export async function expectReject(p: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect((err as Error).message).to.match(pattern);
    return err as Error;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}

/** A FIFO at `file` (its folder made): opened for reading, it would wait for a writer forever. */
export function fifo(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('mkfifo', [file]);
  return file;
}

/** Rejects within `ms`, with a message matching `pattern` (a FIFO must not block the reader). */
export async function refusedQuickly(
  run: () => unknown,
  pattern: RegExp,
  ms = 5000,
): Promise<void> {
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref(),
  );
  let error: unknown;
  try {
    await Promise.race([Promise.resolve().then(run), timeout]);
  } catch (e) {
    error = e;
  }
  expect(error, 'refused').to.be.instanceOf(Error);
  expect((error as Error).message).to.match(pattern);
}

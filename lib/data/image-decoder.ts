// Encoded image bytes -> upright RGB, the pixels Pillow gives for
// ImageOps.exif_transpose(Image.open(f)).convert('RGB') (test/fixtures/decode checks this byte for
// byte). JPEG, PNG, WebP and GIF go to sharp (libvips); BMP, which sharp does not read, to jimp.
// In the decode workers, plain JPEGs go to libjpeg-turbo through the addon first (below).
import { isMainThread } from 'node:worker_threads';
import type { Sharp, SharpOptions } from 'sharp';
import { nativeIfLoads } from '../native';
import { describeReceived } from '../util/describe-received';
import { fail } from '../util/expect';
import { expectOptions } from '../util/option-keys';
import { bmpSize, jpegComponents } from './image-header';
import type { RawImage } from './transforms/raw-image';

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'bmp';

/** Bumped whenever decoded pixels change (a cache of decoded images names it in its digest). */
export const DECODER_VERSION = 2; // 1: jpeg-js and jimp; 2: sharp, Pillow's pixels

/** Images with more pixels than this are refused before decoding unless told otherwise. */
export const DEFAULT_MAX_PIXELS = 50_000_000;

export interface DecodeImageOptions {
  /**
   * Refuse an image whose width x height exceeds this, from its header, before decoding
   * (default 50 million; Infinity for no limit).
   */
  maxPixels?: number;
}

/** `maxPixels` checked (a positive integer or Infinity), or the default when undefined. */
export function checkMaxPixels(value: unknown, who: string): number {
  if (value === undefined) return DEFAULT_MAX_PIXELS;
  if (value === Infinity || (typeof value === 'number' && Number.isSafeInteger(value) && value > 0))
    return value;
  throw new Error(
    `${who}: expected a positive integer or Infinity for maxPixels but received ${describeReceived(value)}`,
  );
}

/**
 * The largest file worth reading for an image within `maxPixels`: 8 bytes a pixel (uncompressed
 * 16-bit RGBA) plus 64 MiB of metadata. Anything larger is refused unread.
 */
export function maxFileBytes(maxPixels: number): number {
  return maxPixels * 8 + 64 * 2 ** 20;
}

/** The format from the first bytes, or null when it is none we read. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  return null;
}

/**
 * The calls this package makes on sharp's module. Declared here rather than taken from sharp's
 * typings, whose module is `export =` under CommonJS resolution and `export default` under ESM
 * resolution: a declaration naming either breaks users' compilers set up for the other.
 */
export interface SharpModule {
  (input?: Uint8Array, options?: SharpOptions): Sharp;
  (options?: SharpOptions): Sharp;
  concurrency(threads?: number): number;
  cache(options?: boolean): unknown;
}
let sharpModule: SharpModule | undefined;

/** sharp, loaded on first use (libvips is large; programs that never decode never load it). */
export async function loadSharp(): Promise<SharpModule> {
  sharpModule ??= (await import('sharp')).default;
  return sharpModule;
}

type JimpClass = (typeof import('jimp'))['Jimp'];
let jimpClass: JimpClass | undefined;

/**
 * Decodes JPEG, PNG, WebP, GIF (first frame) or BMP bytes to upright RGB: EXIF orientation
 * applied, grayscale made three equal channels, alpha dropped without compositing, palettes
 * expanded, 16-bit samples cut to their high byte, ICC profiles ignored: as Pillow, except that
 * Pillow clips 16-bit grayscale at 255. Images over `maxPixels` are refused from their header.
 * Throws a plain message; the caller adds the file's name.
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: DecodeImageOptions = {},
): Promise<RawImage> {
  if (!(bytes instanceof Uint8Array)) {
    fail("an image file's bytes (a Uint8Array or Buffer)", 'bytes', bytes);
  }
  expectOptions<DecodeImageOptions>(options, 'options', { maxPixels: true });
  const maxPixels = checkMaxPixels(options.maxPixels, 'decodeImage');
  if (bytes.length === 0) throw new Error('zero-byte file');
  const format = sniffFormat(bytes);
  if (format === null) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`not a JPEG, PNG, WebP, GIF or BMP image (starts with ${head})`);
  }
  if (format === 'jpeg') {
    const plain = decodePlainJpeg(bytes, maxPixels);
    if (plain) return plain;
  }
  return format === 'bmp' ? decodeBmp(bytes, maxPixels) : decodeWithSharp(bytes, format, maxPixels);
}

// Fixed for the thread's life (a worker copies the environment when it starts).
const nativeJpegHere = !isMainThread && process.env.SPHEREFACE_NATIVE_JPEG !== '0';

/**
 * A plain JPEG (grayscale, YCbCr or RGB, upright, decoded without a libjpeg warning, within
 * `maxPixels`) decoded by libjpeg-turbo through the addon, synchronously, on a decode worker's own
 * thread: sharp's pixels (the same library with the same settings) at a fraction of the cost of
 * libvips' pipeline on small images (BENCHMARKS.md, "Image store"). undefined for anything else,
 * which sharp then decodes (and names the error of), on the main thread always, and everywhere
 * with SPHEREFACE_NATIVE_JPEG=0 or without the addon.
 */
function decodePlainJpeg(bytes: Uint8Array, maxPixels: number): RawImage | undefined {
  if (!nativeJpegHere) return undefined;
  const decoded = nativeIfLoads()?.decodeJpeg(bytes, maxPixels);
  return typeof decoded === 'object' ? decoded : undefined;
}

function corrupt(format: ImageFormat, why: string): Error {
  return new Error(`truncated or corrupt ${format.toUpperCase()} (${why})`);
}

// The reason names no option: BadImageError adds how to raise the limit, in the caller's terms.
function tooLarge(width: number, height: number, maxPixels: number): Error {
  const count = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`);
  return new Error(
    `${width}x${height} = ${count(width * height)}, over the limit of ${count(maxPixels)}`,
  );
}

/**
 * Whether a decode failure's reason is an image over the decoder's pixel limit (tooLarge's
 * words), which maxPixels raises; not a transform's output over its own fixed limit.
 */
export function isOverPixelLimit(reason: string): boolean {
  return /^\d+x\d+ = [^,]*, over the limit of /.test(reason);
}

async function decodeWithSharp(
  bytes: Uint8Array,
  format: Exclude<ImageFormat, 'bmp'>,
  maxPixels: number,
): Promise<RawImage> {
  const sharp = await loadSharp();
  const input: SharpOptions = {
    autoOrient: true,
    ignoreIcc: true, // Pillow does not colour-manage
    // 'error' rejects truncated and broken files but, as Pillow, reads through libjpeg's
    // warnings (extraneous bytes before a marker...) that sharp's default 'warning' refuses.
    failOn: 'error',
    limitInputPixels: maxPixels === Infinity ? false : maxPixels,
  };
  // CMYK JPEGs stay CMYK in libvips (sharp would convert them through an ICC profile) and get
  // Pillow's plain conversion below.
  const cmyk = format === 'jpeg' && jpegComponents(bytes) === 4;
  const pipeline: Sharp = cmyk
    ? sharp(bytes, input).pipelineColourspace('cmyk').toColourspace('cmyk')
    : sharp(bytes, input).removeAlpha().toColourspace('srgb');
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = (err as Error).message;
    if (/exceeds pixel limit/.test(message)) {
      const { width, height } = await sharp(bytes, { limitInputPixels: false }).metadata();
      throw tooLarge(width ?? 0, height ?? 0, maxPixels);
    }
    throw corrupt(format, message.split('\n')[0]);
  }
  const { data, info } = decoded;
  const channels = cmyk ? 4 : 3;
  if (info.channels !== channels || data.length !== info.width * info.height * channels) {
    throw corrupt(format, `decoded ${info.channels} channels, expected ${channels}`);
  }
  const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return {
    data: cmyk ? cmykToRgb(pixels) : pixels,
    width: info.width,
    height: info.height,
  };
}

/** Pillow's CMYK -> RGB (Convert.c, cmyk2rgb): each channel (255 - K) scaled by (255 - C/M/Y). */
function cmykToRgb(cmyk: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((cmyk.length / 4) * 3);
  for (let i = 0, j = 0; i < cmyk.length; i += 4, j += 3) {
    const nk = 255 - cmyk[i + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i + c] * nk + 128; // MULDIV255: a * b / 255, rounded
      rgb[j + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return rgb;
}

async function decodeBmp(bytes: Uint8Array, maxPixels: number): Promise<RawImage> {
  const size = bmpSize(bytes);
  if (!size) throw corrupt('bmp', 'header cut short');
  if (size.width * size.height > maxPixels) throw tooLarge(size.width, size.height, maxPixels);
  jimpClass ??= (await import('jimp')).Jimp;
  let bitmap: { data: Uint8Array; width: number; height: number };
  try {
    bitmap = (await jimpClass.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)))
      .bitmap;
  } catch (err) {
    throw corrupt('bmp', (err as Error).message);
  }
  const { width, height } = bitmap;
  if (!(width > 0 && height > 0) || bitmap.data.length < width * height * 4) {
    throw corrupt('bmp', 'no pixels decoded');
  }
  const rgb = new Uint8Array(width * height * 3);
  const rgba = bitmap.data;
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return { data: rgb, width, height };
}

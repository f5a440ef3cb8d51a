import * as jpeg from 'jpeg-js';
import { applyOrientation, jpegExifOrientation } from './exif-orientation';
import { withPooledBlocks } from './jpeg-block-pool';
import type { RawImage } from './transforms/raw-image';

export type ImageFormat = 'jpeg' | 'png' | 'bmp';

/** The format from the first bytes, or null when it is none we read. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return 'jpeg';
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47
  )
    return 'png';
  if (bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  return null;
}

type JimpClass = (typeof import('jimp'))['Jimp'];
let jimpClass: JimpClass | undefined;

/**
 * Decodes JPEG, PNG or BMP bytes to upright RGB. JPEGs go straight to jimp's own decoder
 * (jpeg-js) asking for RGB, which skips jimp's RGBA bitmap and its extra passes; PNG and BMP go
 * through jimp. Grayscale becomes three equal channels, alpha is dropped (as PIL's
 * convert('RGB')), EXIF orientation is applied. Throws a plain message; the caller adds the path.
 */
export async function decodeImage(bytes: Uint8Array): Promise<RawImage> {
  if (bytes.length === 0) throw new Error('zero-byte file');
  const format = sniffFormat(bytes);
  if (format === null) {
    const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new Error(`not a JPEG, PNG or BMP image (starts with ${head})`);
  }
  if (format === 'jpeg') return decodeJpeg(bytes);
  jimpClass ??= (await import('jimp')).Jimp;
  let bitmap: { data: Uint8Array; width: number; height: number };
  try {
    bitmap = (await jimpClass.fromBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)))
      .bitmap;
  } catch (err) {
    throw new Error(`truncated or corrupt ${format.toUpperCase()} (${(err as Error).message})`);
  }
  const { width, height } = bitmap;
  if (!(width > 0 && height > 0) || bitmap.data.length < width * height * 4) {
    throw new Error(`truncated or corrupt ${format.toUpperCase()} (no pixels decoded)`);
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

function decodeJpeg(bytes: Uint8Array): RawImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    // tolerantDecoding: false so a file cut short is an error rather than grey blocks.
    decoded = withPooledBlocks(() =>
      jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false }),
    );
  } catch (err) {
    throw new Error(`truncated or corrupt JPEG (${(err as Error).message})`);
  }
  if (
    !(decoded.width > 0 && decoded.height > 0) ||
    decoded.data.length !== decoded.width * decoded.height * 3
  ) {
    throw new Error('truncated or corrupt JPEG (no pixels decoded)');
  }
  const upright = applyOrientation(
    decoded.data,
    decoded.width,
    decoded.height,
    jpegExifOrientation(bytes),
  );
  return upright;
}

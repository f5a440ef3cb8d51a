// A gallery on disk: one file, written atomically.
//
//   0   'SFGALLRY'                 magic
//   8   u32 version (2; version 1 files, without the header's CRC-32, are still read)
//   12  u32 L                      length of the JSON header
//   16  u32 CRC-32 of the JSON header
//   20  JSON header (GalleryHeader): dim, flip, arch, the names and paths of the rows, the CRC-32
//       of the embeddings
//   ..  zero padding to a multiple of 4
//   P   float32 rows x dim         unit-length embeddings, little-endian
//
// Every declared size is checked against the file's length before anything is allocated, and
// the header against its checksum (a damaged name would otherwise be searched as another one).
import * as zlib from 'node:zlib';
import { writeFileAtomic } from '../util/atomic-write';
import { openRegularFile } from '../util/regular-file';
import { crc32Yielding } from '../util/crc32';
import { FLIP_MODES, type FlipMode } from './embed-images';

const MAGIC = 'SFGALLRY';
const VERSION = 2;
/** The fixed part before the JSON header, by version. */
const FIXED: Record<number, number> = { 1: 16, 2: 20 };
const MAX_HEADER = 1 << 30;

export interface GalleryHeader {
  dim: number;
  flip: FlipMode;
  /** The arch of the model that embedded it; searching needs one of the same. */
  arch: string;
  /** Per row: the person and the image. */
  names: string[];
  paths: string[];
  /**
   * The embedding model's features of a fixed image (gallery.ts): a search with another model of
   * the same arch is caught. Absent in galleries written before it was kept.
   */
  modelCheck?: number[];
  crc32: number;
}

export interface GalleryData {
  header: Omit<GalleryHeader, 'crc32'>;
  embeddings: Float32Array;
}

export async function writeGalleryFile(file: string, data: GalleryData): Promise<void> {
  const bytes = new Uint8Array(
    data.embeddings.buffer,
    data.embeddings.byteOffset,
    data.embeddings.byteLength,
  );
  const header: GalleryHeader = { ...data.header, crc32: await crc32Yielding([bytes]) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(Math.ceil((FIXED[VERSION] + json.length) / 4) * 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  head.writeUInt32LE(zlib.crc32(json), 16);
  json.copy(head, FIXED[VERSION]);
  await writeFileAtomic(file, Buffer.concat([head, bytes]));
}

export async function readGalleryFile(file: string): Promise<GalleryData> {
  const fail = (why: string): never => {
    throw new Error(`${file}: not a sphereface gallery (${why})`);
  };
  const { handle, size } = await openRegularFile(file, { noun: 'gallery' });
  try {
    const head = Buffer.alloc(FIXED[VERSION]);
    const got = (await handle.read(head, 0, head.length, 0)).bytesRead;
    if (got < 16) fail('shorter than its header');
    if (head.toString('latin1', 0, 8) !== MAGIC) fail('wrong magic');
    const version = head.readUInt32LE(8);
    const fixed = FIXED[version] ?? fail(`version ${version}, not ${VERSION}`);
    const jsonLength = head.readUInt32LE(12);
    if (jsonLength > MAX_HEADER || fixed + jsonLength > size) fail('truncated header');
    const json = Buffer.alloc(jsonLength);
    await handle.read(json, 0, jsonLength, fixed);
    if (version >= 2 && zlib.crc32(json) !== head.readUInt32LE(16)) {
      fail('the header fails its checksum');
    }
    let header: GalleryHeader;
    try {
      header = JSON.parse(json.toString('utf8')) as GalleryHeader;
    } catch {
      return fail('damaged header');
    }
    if (typeof header !== 'object' || header === null) fail('inconsistent header');
    const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    const rows = strings(header.names) ? header.names.length : -1;
    if (
      !Number.isSafeInteger(header.dim) ||
      header.dim < 1 ||
      rows < 0 ||
      !strings(header.paths) ||
      header.paths.length !== rows ||
      !FLIP_MODES.includes(header.flip) ||
      typeof header.arch !== 'string' ||
      !(
        header.modelCheck === undefined ||
        (Array.isArray(header.modelCheck) && header.modelCheck.every(Number.isFinite))
      ) ||
      !Number.isSafeInteger(header.crc32)
    ) {
      fail('inconsistent header');
    }
    const start = Math.ceil((fixed + jsonLength) / 4) * 4;
    const bytes = rows * header.dim * 4;
    if (size !== start + bytes) {
      fail(`${size} bytes where its header declares ${start + bytes}`);
    }
    const embeddings = new Float32Array(rows * header.dim);
    const view = new Uint8Array(embeddings.buffer);
    if (bytes > 0) await handle.read(view, 0, bytes, start);
    if ((await crc32Yielding([view])) !== header.crc32) fail('embeddings fail their checksum');
    const { dim, flip, arch, names, paths, modelCheck } = header;
    const check = modelCheck === undefined ? {} : { modelCheck };
    return { header: { dim, flip, arch, names, paths, ...check }, embeddings };
  } finally {
    await handle.close();
  }
}

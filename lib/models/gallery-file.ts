// A gallery on disk: one file, written atomically.
//
//   0   'SFGALLRY'                 magic
//   8   u32 version (1)
//   12  u32 L                      length of the JSON header
//   16  JSON header (GalleryHeader): dim, flip, arch, the names and paths of the rows, the CRC-32
//       of the embeddings
//   ..  zero padding to a multiple of 4
//   P   float32 rows x dim         unit-length embeddings, little-endian
//
// Every declared size is checked against the file's length before anything is allocated.
import * as fs from 'node:fs/promises';
import * as zlib from 'node:zlib';
import { writeFileAtomic } from '../util/atomic-write';
import type { FlipMode } from './embed-images';

const MAGIC = 'SFGALLRY';
const VERSION = 1;
const MAX_HEADER = 1 << 30;

export interface GalleryHeader {
  dim: number;
  flip: FlipMode;
  /** The arch of the model that embedded it; searching needs one of the same. */
  arch: string;
  /** Per row: the person and the image. */
  names: string[];
  paths: string[];
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
  const header: GalleryHeader = { ...data.header, crc32: zlib.crc32(bytes) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(Math.ceil((16 + json.length) / 4) * 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  await writeFileAtomic(file, Buffer.concat([head, bytes]));
}

export async function readGalleryFile(file: string): Promise<GalleryData> {
  const fail = (why: string): never => {
    throw new Error(`${file}: not a sphereface gallery (${why})`);
  };
  const stat = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read gallery ${file} (${e.code ?? e.message})`);
  });
  if (!stat.isFile()) fail('not a regular file');
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(16);
    if ((await handle.read(head, 0, 16, 0)).bytesRead < 16) fail('shorter than its header');
    if (head.toString('latin1', 0, 8) !== MAGIC) fail('wrong magic');
    if (head.readUInt32LE(8) !== VERSION) fail(`version ${head.readUInt32LE(8)}, not ${VERSION}`);
    const jsonLength = head.readUInt32LE(12);
    if (jsonLength > MAX_HEADER || 16 + jsonLength > stat.size) fail('truncated header');
    const json = Buffer.alloc(jsonLength);
    await handle.read(json, 0, jsonLength, 16);
    let header: GalleryHeader;
    try {
      header = JSON.parse(json.toString('utf8')) as GalleryHeader;
    } catch {
      return fail('damaged header');
    }
    const rows = Array.isArray(header.names) ? header.names.length : -1;
    if (
      !Number.isInteger(header.dim) ||
      header.dim < 1 ||
      rows < 0 ||
      !Array.isArray(header.paths) ||
      header.paths.length !== rows
    ) {
      fail('inconsistent header');
    }
    const start = Math.ceil((16 + jsonLength) / 4) * 4;
    const bytes = rows * header.dim * 4;
    if (stat.size !== start + bytes) {
      fail(`${stat.size} bytes where its header declares ${start + bytes}`);
    }
    const embeddings = new Float32Array(rows * header.dim);
    const view = new Uint8Array(embeddings.buffer);
    if (bytes > 0) await handle.read(view, 0, bytes, start);
    if (zlib.crc32(view) !== header.crc32) fail('embeddings fail their checksum');
    const { dim, flip, arch, names, paths } = header;
    return { header: { dim, flip, arch, names, paths }, embeddings };
  } finally {
    await handle.close();
  }
}

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { replaceAtomically } from '../util/atomic-write';
import { openRegularFile } from '../util/regular-file';
import { crc32Yielding } from '../util/crc32';
import type { ImageSet } from './types';

// File layout (little-endian):
//   0  'SPHFIMGC'                      magic
//   8  u32 CACHE_VERSION               layout version; any other is rebuilt, never read
//  12  u32 L                           length of the JSON header
//  16  u32 CRC-32 of the JSON header
//  20  JSON header (CacheHeader)       shape, digest of the inputs, CRC-32 of the payload
//  ..  zero padding to a multiple of 64
//  P   images  n*h*w*3 bytes
//      labels  n int32 (when present), 4-byte aligned
//      kept    n int32: which input each cached image came from (bad ones skipped)
const MAGIC = 'SPHFIMGC';
export const CACHE_VERSION = 2;
const FIXED_HEAD = 20;
const ALIGN = 64;
const READ_CHUNK = 16 << 20;

/** One image left out of a set because it could not be decoded (onBadImage: 'skip'). */
export interface SkippedImage {
  index: number; // position in the input list
  path: string;
  reason: string;
}

interface CacheHeader {
  version: number;
  n: number;
  height: number;
  width: number;
  channels: 3;
  hasLabels: boolean;
  digest: string;
  payloadBytes: number;
  crc32: number;
  skipped: SkippedImage[];
}

/** What a cache file holds: the set, which inputs made it, and what was skipped. */
export interface CachedImages extends ImageSet {
  kept: Int32Array;
  skipped: SkippedImage[];
}

/** Why a cache file was not used (for logs and tests); null when it was. */
export type CacheMiss = 'missing' | 'other-version' | 'truncated' | 'corrupt' | 'stale';

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Whether a parsed header has every field, of the right type (its CRC passed, but a file
 * written by another program could still hold any JSON). */
function isHeader(h: unknown): h is CacheHeader {
  if (typeof h !== 'object' || h === null) return false;
  const c = h as Record<string, unknown>;
  return (
    isCount(c.n) &&
    isCount(c.height) &&
    isCount(c.width) &&
    c.channels === 3 &&
    typeof c.hasLabels === 'boolean' &&
    typeof c.digest === 'string' &&
    isCount(c.payloadBytes) &&
    isCount(c.crc32) &&
    Array.isArray(c.skipped) &&
    c.skipped.every(
      (s: unknown) =>
        typeof s === 'object' &&
        s !== null &&
        isCount((s as SkippedImage).index) &&
        typeof (s as SkippedImage).path === 'string' &&
        typeof (s as SkippedImage).reason === 'string',
    )
  );
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function payloadLayout(n: number, height: number, width: number, hasLabels: boolean) {
  const imageBytes = n * height * width * 3;
  const labelsAt = align(imageBytes, 4);
  const keptAt = labelsAt + (hasLabels ? n * 4 : 0);
  return { imageBytes, labelsAt, keptAt, total: keptAt + n * 4 };
}

/**
 * A binary cache of preprocessed images. Written once, atomically (temp file + rename), read
 * back in one allocation with the images, labels and kept indices as views into it. A file of
 * another layout version, a short file, a bad checksum or a different input digest is reported
 * as a miss and rebuilt by the caller, never trusted.
 */
export class ImageCache {
  constructor(readonly file: string) {}

  /** The stable digest of everything that decides the cache's contents. */
  static digest(parts: unknown): string {
    return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  /** Reads the cache if it is valid for `digest`; otherwise says why not. */
  async read(digest: string): Promise<{ hit: CachedImages } | { miss: CacheMiss }> {
    let opened: { handle: fs.promises.FileHandle; size: number };
    try {
      // Not a regular file (a FIFO would block the read) counts as no cache: the write replaces it.
      opened = await openRegularFile(this.file);
    } catch {
      return { miss: 'missing' };
    }
    const { handle, size } = opened;
    try {
      const head = Buffer.alloc(FIXED_HEAD);
      if ((await handle.read(head, 0, FIXED_HEAD, 0)).bytesRead < 12) return { miss: 'truncated' };
      if (head.toString('latin1', 0, 8) !== MAGIC) return { miss: 'corrupt' };
      if (head.readUInt32LE(8) !== CACHE_VERSION) return { miss: 'other-version' };
      const jsonLength = head.readUInt32LE(12);
      if (size < FIXED_HEAD || FIXED_HEAD + jsonLength > size) return { miss: 'truncated' };
      const json = Buffer.alloc(jsonLength);
      if ((await handle.read(json, 0, jsonLength, FIXED_HEAD)).bytesRead < jsonLength) {
        return { miss: 'truncated' };
      }
      if (zlib.crc32(json) !== head.readUInt32LE(16)) return { miss: 'corrupt' };
      let header: unknown;
      try {
        header = JSON.parse(json.toString('utf8'));
      } catch {
        return { miss: 'corrupt' };
      }
      if ((header as Partial<CacheHeader> | null)?.version !== CACHE_VERSION) {
        return { miss: 'other-version' };
      }
      if (!isHeader(header)) return { miss: 'corrupt' };
      if (header.digest !== digest) return { miss: 'stale' };
      const layout = payloadLayout(header.n, header.height, header.width, header.hasLabels);
      if (layout.total !== header.payloadBytes) return { miss: 'corrupt' };
      const payloadAt = align(FIXED_HEAD + jsonLength, ALIGN);
      if (size !== payloadAt + layout.total)
        return { miss: size < payloadAt + layout.total ? 'truncated' : 'corrupt' };
      const payload = new Uint8Array(layout.total);
      // The CRC of each chunk runs on this thread while the next chunk is read on libuv's.
      let crc = 0;
      let checked = 0;
      for (let done = 0; done < layout.total;) {
        const reading = handle.read(
          payload,
          done,
          Math.min(READ_CHUNK, layout.total - done),
          payloadAt + done,
        );
        if (checked < done) {
          crc = await crc32Yielding([payload.subarray(checked, done)], crc);
          checked = done;
        }
        const { bytesRead } = await reading;
        if (bytesRead === 0) return { miss: 'truncated' };
        done += bytesRead;
      }
      crc = await crc32Yielding([payload.subarray(checked)], crc);
      if (crc !== header.crc32) return { miss: 'corrupt' };
      const buffer = payload.buffer;
      return {
        hit: {
          images: payload.subarray(0, layout.imageBytes),
          n: header.n,
          height: header.height,
          width: header.width,
          labels: header.hasLabels ? new Int32Array(buffer, layout.labelsAt, header.n) : undefined,
          kept: new Int32Array(buffer, layout.keptAt, header.n),
          skipped: header.skipped,
        },
      };
    } finally {
      await handle.close();
    }
  }

  /** Writes the cache atomically: a reader sees the old file or the whole new one. */
  async write(digest: string, set: CachedImages): Promise<void> {
    const layout = payloadLayout(set.n, set.height, set.width, set.labels !== undefined);
    if (set.images.length !== layout.imageBytes) {
      throw new Error(
        `ImageCache: expected ${layout.imageBytes} image bytes but received ${set.images.length}`,
      );
    }
    const labelsPad = new Uint8Array(layout.labelsAt - layout.imageBytes);
    const labels = set.labels
      ? new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.labels.byteLength)
      : undefined;
    const kept = new Uint8Array(set.kept.buffer, set.kept.byteOffset, set.kept.byteLength);
    const crc = await crc32Yielding([set.images, labelsPad, ...(labels ? [labels] : []), kept]);
    const header: CacheHeader = {
      version: CACHE_VERSION,
      n: set.n,
      height: set.height,
      width: set.width,
      channels: 3,
      hasLabels: labels !== undefined,
      digest,
      payloadBytes: layout.total,
      crc32: crc,
      skipped: set.skipped,
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const head = Buffer.alloc(align(FIXED_HEAD + json.length, ALIGN));
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(CACHE_VERSION, 8);
    head.writeUInt32LE(json.length, 12);
    head.writeUInt32LE(zlib.crc32(json), 16);
    json.copy(head, FIXED_HEAD);
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    try {
      await replaceAtomically(this.file, async (temp) => {
        const handle = await fs.promises.open(temp, 'w');
        try {
          for (const part of [head, set.images, labelsPad, labels, kept]) {
            if (!part) continue;
            for (let done = 0; done < part.length;) {
              const { bytesWritten } = await handle.write(
                part,
                done,
                Math.min(READ_CHUNK, part.length - done),
              );
              done += bytesWritten;
            }
          }
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
    } catch (err) {
      throw new Error(`ImageCache: cannot write ${this.file}: ${(err as Error).message}`);
    }
  }
}

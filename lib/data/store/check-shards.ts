import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileKind } from '../../util/regular-file';
import type { ShardRecord } from './manifest';

/** A shard that must not be read: why, named. */
export interface ShardProblem {
  shard: number;
  file: string;
  reason: 'missing' | 'not a regular file' | 'wrong size' | 'CRC mismatch';
  detail: string;
}

// Small enough that the CRC of one chunk (on the JS thread) is a few milliseconds.
const CHUNK = 4 * 2 ** 20;

/** CRC-32 (zlib's) of a whole file, streamed: the next chunk is read while this one is summed. */
export async function fileCrc32(file: string): Promise<number> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
    let crc = 0;
    let at = 0;
    let k = 0;
    let pending = handle.read(buffers[0], 0, CHUNK, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return crc;
      const current = buffers[k];
      at += bytesRead;
      k ^= 1;
      pending = handle.read(buffers[k], 0, CHUNK, at);
      crc = zlib.crc32(current.subarray(0, bytesRead), crc);
    }
  } finally {
    await handle.close();
  }
}

/**
 * Checks each shard's size and, with `crc`, its CRC-32 against the manifest. Returns the shards
 * that fail, named; `onShard(k)` after each one checked.
 */
export async function checkShards(
  dir: string,
  shards: readonly ShardRecord[],
  imageBytes: number,
  options: { crc: boolean; onShard?: (k: number) => void },
): Promise<ShardProblem[]> {
  const problems: ShardProblem[] = [];
  for (let k = 0; k < shards.length; k++) {
    const record = shards[k];
    const file = path.join(dir, record.file);
    const problem = await checkShard(file, record, imageBytes, options.crc);
    if (problem) problems.push({ shard: k, file, ...problem });
    options.onShard?.(k);
  }
  return problems;
}

async function checkShard(
  file: string,
  record: ShardRecord,
  imageBytes: number,
  crc: boolean,
): Promise<Omit<ShardProblem, 'shard' | 'file'> | undefined> {
  let stats: fs.Stats;
  try {
    stats = await fs.promises.stat(file);
  } catch {
    return { reason: 'missing', detail: 'the file is missing' };
  }
  // A FIFO would block the reads below (and the native reader's) forever.
  if (!stats.isFile()) {
    return { reason: 'not a regular file', detail: `${fileKind(stats)}, not a regular file` };
  }
  const size = stats.size;
  const expected = record.images * imageBytes;
  if (size !== expected) {
    return { reason: 'wrong size', detail: `${size} bytes where ${expected} were written` };
  }
  if (!crc) return undefined;
  const found = await fileCrc32(file);
  if (found !== record.crc32) {
    return {
      reason: 'CRC mismatch',
      detail: `CRC-32 ${hex(found)} where ${hex(record.crc32)} was written`,
    };
  }
  return undefined;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

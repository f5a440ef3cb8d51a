// CRC-32 of large buffers without holding the event loop: zlib.crc32 runs over slices of at most
// 1 MiB (milliseconds each), and the loop gets a turn between slices.
import { setImmediate as nextTurn } from 'node:timers/promises';
import * as zlib from 'node:zlib';

const SLICE = 1 << 20;

/** The CRC-32 of `parts` one after another, continuing from `crc`. */
export async function crc32Yielding(parts: readonly Uint8Array[], crc = 0): Promise<number> {
  for (const part of parts) {
    for (let at = 0; at < part.length; at += SLICE) {
      if (at > 0 || part !== parts[0]) await nextTurn();
      crc = zlib.crc32(part.subarray(at, at + SLICE), crc);
    }
  }
  return crc;
}

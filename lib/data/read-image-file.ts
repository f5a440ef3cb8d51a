// Reading an image file's bytes for decoding: regular files only, and none larger than an image
// can be. A FIFO named x.jpg would otherwise block the read forever, waiting for a writer; a
// device would stream without end.
import * as fs from 'node:fs';
import { fileKind, OPEN_FLAGS } from '../util/regular-file';

function checkStat(stat: fs.Stats, maxBytes: number): void {
  if (!stat.isFile()) throw new Error(`not a regular file (${fileKind(stat)})`);
  if (stat.size > maxBytes) {
    throw new Error(
      `${stat.size} bytes, more than an image within the pixel limit takes (${maxBytes} bytes at most)`,
    );
  }
}

/** The file's bytes; throws a plain message (the caller adds the path). */
export function readImageFile(file: string, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    // stat first, so a device or FIFO is never even opened; fstat after open closes the race.
    checkStat(fs.statSync(file), maxBytes);
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? new Error(`cannot read (${code})`) : err;
  }
  try {
    const stat = fs.fstatSync(fd);
    checkStat(stat, maxBytes);
    const bytes = Buffer.allocUnsafe(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const n = fs.readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) break; // the file shrank since fstat
      done += n;
    }
    return bytes.subarray(0, done);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? new Error(`cannot read (${code})`) : err;
  } finally {
    fs.closeSync(fd);
  }
}

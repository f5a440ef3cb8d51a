// Opening a file the user names: a FIFO, a socket or a device would block an open() or a read
// forever (a FIFO waits for a writer), and a folder gives confusing errors. Files are checked
// with stat (so a device is never even opened), opened non-blocking and checked again with fstat
// (no race between the check and the read); anything but a regular file is refused by name.
import * as fs from 'node:fs';

/** Read-only, and O_NONBLOCK so that open() of a FIFO returns at once (no change for files). */
export const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

export interface RegularFileOptions {
  /** What the file is, for messages: 'verification file' gives "verification file x.bin ...". */
  noun?: string;
  /** Refuse a file larger than this many bytes (default: no limit). */
  maxBytes?: number;
}

/** The type tests that fs.Stats and fs.Dirent share. */
export type FileType = Pick<
  fs.Stats,
  'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'
>;

/** What a file is, for messages: 'a directory', 'a FIFO', ... */
export function fileKind(stats: FileType): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/**
 * Refuses an input that cannot be found: "<what> <file> does not exist", or the real reason a
 * path that is there cannot be reached (a loop of symbolic links, a folder not searchable).
 * Returns its stats.
 */
export function expectInput(file: string, what?: string, where?: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch (err) {
    const code = codeOf(err);
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'does not exist'
        : code === 'ELOOP'
          ? 'is a loop of symbolic links (ELOOP)'
          : `cannot be reached (${code})`;
    throw new Error(`${what ? `${what} ` : ''}${file} ${why}${where ? ` (${where})` : ''}`);
  }
}

function named(file: string, options: RegularFileOptions): string {
  return options.noun ? `${options.noun} ${file}` : file;
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** The error of a failed open, keeping the system's code (ENOENT...) for callers to test. */
function openError(file: string, err: unknown, options: RegularFileOptions): Error {
  const error: NodeJS.ErrnoException =
    codeOf(err) === 'ENOENT'
      ? new Error(`${named(file, options)} does not exist`)
      : new Error(`cannot open ${named(file, options)} (${codeOf(err)})`);
  error.code = (err as NodeJS.ErrnoException).code;
  return error;
}

function check(file: string, stats: fs.Stats, options: RegularFileOptions): void {
  if (!stats.isFile()) {
    throw new Error(`${named(file, options)} is ${fileKind(stats)}, not a regular file`);
  }
  if (options.maxBytes !== undefined && stats.size > options.maxBytes) {
    throw new Error(
      `${named(file, options)} is ${stats.size} bytes; expected at most ${options.maxBytes}`,
    );
  }
}

/** Opens a regular file for reading; errors name the file. The caller closes the handle. */
export async function openRegularFile(
  file: string,
  options: RegularFileOptions = {},
): Promise<{ handle: fs.promises.FileHandle; size: number }> {
  let handle: fs.promises.FileHandle;
  try {
    check(file, await fs.promises.stat(file), options);
    handle = await fs.promises.open(file, OPEN_FLAGS);
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code ? openError(file, err, options) : err;
  }
  try {
    const stats = await handle.stat();
    check(file, stats, options);
    return { handle, size: stats.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Reads a whole regular file; errors name the file. */
export async function readRegularFile(
  file: string,
  options: RegularFileOptions = {},
): Promise<Buffer> {
  const { handle } = await openRegularFile(file, options);
  try {
    return await handle.readFile();
  } catch (err) {
    throw new Error(`cannot read ${named(file, options)} (${codeOf(err)})`);
  } finally {
    await handle.close();
  }
}

/** readRegularFile, synchronously (for the small text files that constructors read). */
export function readRegularFileSync(file: string, options: RegularFileOptions = {}): Buffer {
  let fd: number;
  try {
    check(file, fs.statSync(file), options);
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code ? openError(file, err, options) : err;
  }
  try {
    check(file, fs.fstatSync(fd), options);
    try {
      return fs.readFileSync(fd);
    } catch (err) {
      throw new Error(`cannot read ${named(file, options)} (${codeOf(err)})`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

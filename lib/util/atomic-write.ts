// The one way files and folders are written: built under a temporary name in the same folder,
// then renamed into place (atomic within one file system), so a reader, or a run killed at any
// moment, sees the old content or the whole new one, never a torn one.
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileKind } from './regular-file';

const TEMP = /^\..+\.(\d+)\.\d+\.tmp$/;
let counter = 0;

/** A fresh temporary name next to `target`: `.<name>.<pid>.<n>.tmp`. */
export function tempPathFor(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${counter++}.tmp`,
  );
}

export interface ReplaceOptions {
  /** `build` makes a folder, which replaces a folder at `target` (default: a file). */
  folder?: boolean;
  /**
   * `target` is a file of a folder the caller owns (a store's shard): a FIFO or a device found
   * there is replaced too, as a user's output path never is.
   */
  ownFile?: boolean;
}

/**
 * Builds `target` (a file, or with `folder` a folder) with `build(temp)` under a temporary name,
 * then renames it into place. On failure the temporary is removed and `target` is left as it
 * was. A folder at `target` is replaced only by a folder; a file never replaces one ("<target>
 * is a directory"), nor a FIFO or a device unless `ownFile`: refused before anything is built. A
 * process that exits meanwhile removes the temporary on its way out.
 */
export async function replaceAtomically(
  given: string,
  build: (temp: string) => Promise<void>,
  options: ReplaceOptions = {},
): Promise<void> {
  // A file written through a symbolic link replaces what the link names; the link stays.
  const target = options.folder ? given : await throughLinks(given);
  const refuseNonFile = async () => {
    if (!options.folder) await refuseToReplace(target, options.ownFile === true);
  };
  await refuseNonFile(); // first, so that no work is spent on a write that cannot land
  await checkWhereItGoes(given, target, options.folder === true);
  const temp = tempPathFor(target);
  const write: WriteInFlight = { temp, target };
  inFlight.add(write);
  removeInFlightAtExit();
  let old: string | undefined;
  try {
    await build(temp);
    await refuseNonFile(); // again: one may have been made there meanwhile
    if (await isFolder(target)) {
      // The old folder moves aside, and is removed only once the new one stands in its place.
      old = write.old = tempPathFor(target);
      await fs.rename(target, old);
    }
    await fs.rename(temp, target);
    inFlight.delete(write);
  } catch (error) {
    inFlight.delete(write);
    if (old) await fs.rename(old, target).catch(() => undefined);
    await fs.rm(temp, { recursive: true, force: true });
    const parent = path.dirname(target);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !(await isFolder(parent))) {
      throw new Error(`cannot write ${given}: its folder ${parent} was moved or removed meanwhile`);
    }
    // The temporary's name is ours; the error is about the file the caller named.
    if (error instanceof Error) error.message = error.message.split(temp).join(given);
    throw error;
  }
  if (old) await fs.rm(old, { recursive: true, force: true });
  await syncFolder(path.dirname(target));
  // Earlier writes of this target that were killed left their temporaries (a model's, 65 MB).
  await removeStaleTemps(path.dirname(target), `.${path.basename(target)}.`);
}

/** A replaceAtomically under way: its temporary, and the old folder it moved aside, if any. */
interface WriteInFlight {
  temp: string;
  target: string;
  old?: string;
}

const inFlight = new Set<WriteInFlight>();
let exitHandler: (() => void) | undefined;

// A process that exits mid-write (a second Ctrl-C during a checkpoint) leaves no temporary behind
// (a checkpoint's, 20-65 MB, hidden until the next write of that name), and an old folder it had
// moved aside goes back in place.
function removeInFlightAtExit(): void {
  if (exitHandler) return;
  exitHandler = () => {
    for (const { temp, target, old } of inFlight) {
      try {
        if (old && !fsSync.existsSync(target)) fsSync.renameSync(old, target);
        fsSync.rmSync(temp, { recursive: true, force: true });
      } catch {
        // exiting: what cannot be tidied is removed by the next write of that target
      }
    }
  };
  process.on('exit', exitHandler);
}

/** A write refused before any work, for where it would go: its message names the path. */
export class RefusedPathError extends Error {
  override name = 'RefusedPathError';
}

/**
 * A file path ends in a name, and its folder exists: the caller makes the folders it owns (a
 * run's, a report's), so a missing one here is a slip, named before the work is spent.
 */
async function checkWhereItGoes(given: string, target: string, folder: boolean): Promise<void> {
  if (!folder && given.endsWith(path.sep)) {
    throw new RefusedPathError(`cannot write ${given}: a file path cannot end in ${path.sep}`);
  }
  const parent = path.dirname(target);
  const stats = await fs.stat(parent).catch(() => undefined);
  if (!stats)
    throw new RefusedPathError(`cannot write ${given}: its folder ${parent} does not exist`);
  if (!stats.isDirectory()) {
    throw new RefusedPathError(`cannot write ${given}: ${parent} is not a folder`);
  }
}

/** The file a chain of symbolic links at `file` ends at (which need not exist yet). */
async function throughLinks(file: string): Promise<string> {
  for (let hops = 0; hops < 40; hops++) {
    const stats = await fs.lstat(file).catch(() => undefined);
    if (!stats?.isSymbolicLink()) return file;
    file = path.resolve(path.dirname(file), await fs.readlink(file));
  }
  throw new Error(`${file}: too many levels of symbolic links`);
}

/**
 * The rename of a file would replace whatever is at `target` (a real path, not a link): a folder
 * (with its files), a device or a FIFO (as root, /dev/null itself) are refused.
 */
async function refuseToReplace(target: string, ownFile = false): Promise<void> {
  const stats = await fs.lstat(target).catch(() => undefined);
  if (stats?.isDirectory()) throw new Error(`${target} is a directory`);
  if (stats && !stats.isFile() && !ownFile) {
    throw new Error(`${target} is ${fileKind(stats)}, not a regular file`);
  }
}

async function isFolder(file: string): Promise<boolean> {
  const stats = await fs.lstat(file).catch(() => undefined);
  return stats?.isDirectory() === true;
}

export interface WriteFileAtomicOptions extends Pick<ReplaceOptions, 'ownFile'> {
  /** fsync before the rename, so the content survives a power loss too (default true). */
  durable?: boolean;
}

/** Writes `data` to `file` atomically; errors name the file. */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  try {
    await replaceAtomically(
      file,
      async (temp) => {
        const handle = await fs.open(temp, 'w');
        try {
          await handle.writeFile(data);
          if (options.durable ?? true) await handle.sync();
        } finally {
          await handle.close();
        }
      },
      options,
    );
  } catch (e) {
    if (e instanceof RefusedPathError) throw e; // it names the file already
    throw new Error(`Could not write ${file}: ${(e as Error).message}`);
  }
}

/**
 * Writes files that belong together (an embeddings matrix and its index): every one is written
 * and synced under a temporary name first, then all are renamed into place back to back, so the
 * only moment a reader could see a mix of old and new is between two renames. On failure before
 * the renames every target is left as it was.
 */
export async function writeFilesAtomic(
  files: readonly { file: string; data: string | Uint8Array }[],
): Promise<void> {
  const temps: { temp: string; target: string }[] = [];
  let at = files[0]?.file;
  try {
    for (const { file, data } of files) {
      at = file;
      const target = await throughLinks(file);
      await refuseToReplace(target);
      const temp = tempPathFor(target);
      temps.push({ temp, target });
      const handle = await fs.open(temp, 'w');
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const [k, { temp, target }] of temps.entries()) {
      at = files[k].file;
      await fs.rename(temp, target);
    }
  } catch (e) {
    await Promise.all(temps.map(({ temp }) => fs.rm(temp, { force: true })));
    throw new Error(`Could not write ${at}: ${(e as Error).message}`);
  }
  for (const folder of new Set(temps.map(({ target }) => path.dirname(target)))) {
    await syncFolder(folder);
  }
}

/**
 * Removes the temporaries in `folder` (whose names start with `prefix`) left behind by processes
 * that no longer run (a killed write); returns their paths. Those of live processes, this one
 * included, are left alone.
 */
export async function removeStaleTemps(folder: string, prefix = ''): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = name.startsWith(prefix) ? TEMP.exec(name) : null;
    if (!match || isRunning(Number(match[1]))) continue;
    await fs.rm(path.join(folder, name), { recursive: true, force: true });
    removed.push(path.join(folder, name));
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// A rename is durable only once the folder holding it is synced.
async function syncFolder(folder: string): Promise<void> {
  const handle = await fs.open(folder, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on folders; the rename itself is still atomic.
  } finally {
    await handle.close();
  }
}

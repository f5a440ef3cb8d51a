// The checks a command makes on a file it is about to write, before any work: not a folder
// (the writer would refuse it anyway, but only after the work), and not one of its own inputs
// (a write would replace the file it reads); and on the folder its report goes into.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkReportFolder } from '../report/write-report';
import { whyUnwritable } from '../util/make-folder';
import { fileKind } from '../util/regular-file';
import { UsageError } from './command';

/** A file a command reads: the flag that names it (or, for an argument, what it is) and the path. */
export type InputFile = { flag: string; file: string } | { argument: string; file: string };

/**
 * Throws a UsageError naming `flag` when `file` is a folder, cannot be written (a file where a
 * folder goes on its path, no permission), or is the same file as an input.
 */
export async function checkOutputFile(
  flag: string,
  file: string,
  inputs: InputFile[],
): Promise<void> {
  // A trailing separator names a folder: the rename into place would fail after the work.
  if (/[\\/]$/.test(file))
    throw new UsageError(`--${flag} ${file} names a folder; give a file name`);
  const why = await whyUnwritable(file);
  if (why) throw new UsageError(`--${flag} ${file}: ${why}`);
  const stats = fs.statSync(file, { throwIfNoEntry: false });
  if (stats?.isDirectory()) throw new UsageError(`--${flag} ${file} is a directory`);
  // The write would replace a device or a FIFO with the file (as root, /dev/null itself).
  if (stats && !stats.isFile()) {
    throw new UsageError(`--${flag} ${file} is ${fileKind(stats)}, not a regular file`);
  }
  for (const input of inputs) {
    if (sameFile(file, input.file)) {
      const named = 'flag' in input ? `--${input.flag}` : input.argument;
      throw new UsageError(`--${flag} is the same file as ${named} (${input.file})`);
    }
  }
}

/**
 * checkReportFolder, as a UsageError naming `flag`; and `dir` must not hold the report of another
 * command (its summary.json names it), which this one's would replace, removing its plots.
 */
export async function checkReportOut(flag: string, dir: string, command: string): Promise<void> {
  await checkReportFolder(dir).catch((error: Error) => {
    throw new UsageError(`--${flag} ${error.message}`);
  });
  const other = await reportCommand(path.join(dir, 'summary.json'));
  if (other !== undefined && other !== command) {
    throw new UsageError(
      `--${flag} ${dir} holds the report of a '${other}' run (its summary.json), which this ` +
        `${command}'s report would replace; choose another folder`,
    );
  }
}

/** The command a report's summary.json names; undefined without one. */
async function reportCommand(file: string): Promise<string | undefined> {
  const text = await fs.promises.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const command = (JSON.parse(text) as { command?: unknown }).command;
    return typeof command === 'string' ? command : undefined;
  } catch {
    return undefined;
  }
}

/** Throws a UsageError naming `flag` when `dir` is a file, or a folder that cannot be made there. */
export async function checkOutputFolder(flag: string, dir: string): Promise<void> {
  const why = await whyUnwritable(dir);
  if (why) throw new UsageError(`--${flag} ${dir}: ${why}`);
  const stats = fs.statSync(dir, { throwIfNoEntry: false });
  if (stats && !stats.isDirectory())
    throw new UsageError(`--${flag} ${dir} is a file, not a folder`);
}

/** Whether `file` is a folder (false where it, or its path, is missing or a file). */
export function isFolder(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `inner` is `outer` or lies under it (links and `..` resolved). */
export function isInside(inner: string, outer: string): boolean {
  const a = realPath(inner);
  const b = realPath(outer);
  return a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
}

/**
 * Whether two paths name one file: the same real path (links and `..` resolved, the file need not
 * exist), or, where both exist, the same inode (a hard link).
 */
export function sameFile(a: string, b: string): boolean {
  if (realPath(a) === realPath(b)) return true;
  const sa = fs.statSync(a, { throwIfNoEntry: false });
  const sb = fs.statSync(b, { throwIfNoEntry: false });
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev && sa.ino === sb.ino;
}

// The real path of a file that may not exist yet: that of its nearest existing folder, joined
// with the rest.
function realPath(file: string): string {
  const resolved = path.resolve(file);
  try {
    return fs.realpathSync(resolved);
  } catch {
    const parent = path.dirname(resolved);
    return parent === resolved ? resolved : path.join(realPath(parent), path.basename(resolved));
  }
}

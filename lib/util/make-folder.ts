// mkdir -p whose errors say what is wrong: a file where a folder goes, or the real reason a
// folder cannot be made (Node's recursive mkdir reports ENOENT on a read-only file system).
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** Makes `dir` and its parents; resolves to the first folder made, as fs.mkdir does. */
export async function makeFolder(dir: string, what: string): Promise<string | undefined> {
  try {
    return await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`cannot create ${what} ${dir}: ${await whyNot(dir, error as Error)}`);
  }
}

/** The nearest path at or above `target` that exists, and the names below it that do not. */
async function nearestExisting(target: string) {
  const missing: string[] = [];
  let at = path.resolve(target);
  let stats = await fs.stat(at).catch(() => undefined);
  while (!stats && path.dirname(at) !== at) {
    missing.unshift(path.basename(at));
    at = path.dirname(at);
    stats = await fs.stat(at).catch(() => undefined);
  }
  return { at, stats, missing };
}

// From the nearest path that exists, one folder at a time: the first step's own error.
async function whyNot(dir: string, error: Error): Promise<string> {
  const { at, stats, missing } = await nearestExisting(dir);
  if (stats && !stats.isDirectory()) return `${at} is a file, not a folder`;
  if (missing.length === 0) return error.message;
  return fs.mkdir(path.join(at, missing[0])).then(
    () => error.message,
    (step: Error) => step.message,
  );
}

/**
 * Why `target` (a file or folder to write, with any missing folders above it) could not be
 * written, found before any work; undefined when nothing stands in the way. Looks at the nearest
 * path that exists: a file where a folder goes, or a place this process may not write.
 */
export async function whyUnwritable(target: string): Promise<string | undefined> {
  const { at, stats, missing } = await nearestExisting(target);
  const exists = missing.length === 0;
  if (!stats) return undefined;
  if (!exists && !stats.isDirectory()) return `${at} is a file, not a folder`;
  // Writing a file needs its folder; an existing one is replaced by a rename within that folder.
  const where = exists && !stats.isDirectory() ? path.dirname(at) : at;
  const denied = await fs.access(where, fsConstants.W_OK | fsConstants.X_OK).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => `cannot write in ${where} (${error.code ?? error.message})`,
  );
  return denied ?? (await whyNoFileCanBeMade(where));
}

let probes = 0;

// access() passes where creating fails anyway (root in /proc, some FUSE mounts): a file made and
// removed at once tells.
async function whyNoFileCanBeMade(dir: string): Promise<string | undefined> {
  const probe = path.join(dir, `.sphereface-probe.${process.pid}.${probes++}.tmp`);
  try {
    await fs.writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    // One left by a killed process of this pid: files can be made here.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    const { code, message } = error as NodeJS.ErrnoException;
    return `files cannot be made in ${dir} (${code ?? message})`;
  }
  await fs.rm(probe, { force: true });
  return undefined;
}

// mkdir -p whose errors say what is wrong: a file where a folder goes, or the real reason a
// folder cannot be made (Node's recursive mkdir reports ENOENT on a read-only file system).
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

// From the nearest path that exists, one folder at a time: the first step's own error.
async function whyNot(dir: string, error: Error): Promise<string> {
  const missing: string[] = [];
  let at = path.resolve(dir);
  let stats = await fs.stat(at).catch(() => undefined);
  while (!stats && path.dirname(at) !== at) {
    missing.unshift(path.basename(at));
    at = path.dirname(at);
    stats = await fs.stat(at).catch(() => undefined);
  }
  if (stats && !stats.isDirectory()) return `${at} is a file, not a folder`;
  if (missing.length === 0) return error.message;
  return fs.mkdir(path.join(at, missing[0])).then(
    () => error.message,
    (step: Error) => step.message,
  );
}

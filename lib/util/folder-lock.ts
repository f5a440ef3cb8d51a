// A folder's lock: a file holding the owner's pid, made with O_EXCL, so that two processes never
// write one image store or one training run's folder at the same time. A lock left by a process
// that no longer runs is taken over.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from './regular-file';

/** Lock files this process holds: removed at exit too, when a second Ctrl-C ends it at once. */
const held = new Set<string>();
let removeAtExit: (() => void) | undefined;

// A lock file is removed only while it is still ours: one whose folder was removed and taken by
// another run holds that run's pid.
const ours = (text: string | Buffer) => text.toString().trim() === String(process.pid);

const takenListeners: ((file: string) => void)[] = [];

/**
 * Calls `listener` with the absolute path of each lock file this process takes from now on: a
 * launched worker tells its launcher, which removes the locks of a worker it had to kill.
 */
export function onLockTaken(listener: (file: string) => void): void {
  takenListeners.push(listener);
}

/** Removes lock file `file` if it is still process `pid`'s (not taken over by another). */
export function removeLockOf(file: string, pid: number): void {
  try {
    if (fs.readFileSync(file).toString().trim() === String(pid)) fs.rmSync(file, { force: true });
  } catch {
    // gone already
  }
}

function hold(file: string): () => Promise<void> {
  held.add(file);
  for (const listener of takenListeners) listener(path.resolve(file));
  if (!removeAtExit) {
    removeAtExit = () => {
      for (const lock of held) removeLockOf(lock, process.pid);
    };
    process.on('exit', removeAtExit);
  }
  return async () => {
    held.delete(file);
    if (ours(await fs.promises.readFile(file).catch(() => ''))) {
      await fs.promises.rm(file, { force: true });
    }
  };
}

/** Whether `dir`'s lock file `name` is still this process's (not removed with its folder). */
export async function holdsLock(dir: string, name: string): Promise<boolean> {
  return ours(await readRegularFile(path.join(dir, name), { maxBytes: 64 }).catch(() => ''));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * The live process other than this one that holds `dir`'s lock file `name`, found before any work
 * so that a command can refuse early; undefined when none does (lockFolder still decides).
 */
export async function lockHolder(dir: string, name: string): Promise<number | undefined> {
  const text = await readRegularFile(path.join(dir, name), { maxBytes: 64 }).catch(() => '');
  const owner = Number(text.toString().trim());
  const live = Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner);
  return live ? owner : undefined;
}

/**
 * Takes `dir`'s lock file `name`; resolves to its release. Refused while a live process holds
 * it, as "<dir> is <busy> process N (<file>)".
 */
export async function lockFolder(
  dir: string,
  name: string,
  busy: string,
): Promise<() => Promise<void>> {
  const file = path.join(dir, name);
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.promises.writeFile(file, String(process.pid), { flag: 'wx' });
      return hold(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`cannot create ${file}: ${(err as Error).message}`);
      }
    }
    // Anything but a small regular file holding a pid (a FIFO would block) has no live owner.
    const text = await readRegularFile(file, { maxBytes: 64 }).catch(() => '');
    const owner = Number(text.toString().trim());
    if (owner === process.pid) {
      throw new Error(`${dir} is ${busy} this process (${file}): one at a time`);
    }
    if (attempt > 0 || (Number.isInteger(owner) && owner > 0 && alive(owner))) {
      throw new Error(
        `${dir} is ${busy} process ${owner || 'unknown'} (${file}); wait for it, or remove the file if no such process runs`,
      );
    }
    await fs.promises.rm(file, { force: true });
  }
}

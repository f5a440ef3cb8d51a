// A folder's lock: a file holding the owner's pid, so that two processes never write one image
// store or one training run's folder at the same time. It appears whole (written aside, then
// hard-linked into place, which fails if one is there). A lock left by a process that no longer
// runs is taken over, under a claim file made the same way: removing a stale lock and making a new
// one are two steps, and two processes each doing both would both hold the folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempPathFor } from './atomic-write';
import { readRegularFile, readRegularFileSync } from './regular-file';

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
  // Another (dead) process's lock may be being taken over: removed only under the claim.
  const claim = pid === process.pid ? undefined : claimOf(file);
  try {
    if (claim && !createWithPid(claim)) return; // being taken over: replaced anyway
    try {
      if (ownerOf(file) === pid) fs.rmSync(file, { force: true });
    } finally {
      if (claim) fs.rmSync(claim, { force: true });
    }
  } catch {
    // gone already, with its folder
  }
}

/** The claim file of a takeover of lock file `file`. */
const claimOf = (file: string) => `${file}.takeover`;

/**
 * Creates `file` holding this process's pid, whole or not at all; false when it exists. The
 * content is there the moment the name is: another process never reads a lock half-written.
 */
function createWithPid(file: string): boolean {
  const temp = tempPathFor(file);
  try {
    fs.writeFileSync(temp, String(process.pid), { flag: 'wx' });
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create ${file}: ${(err as Error).message}`);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * The pid in lock (or claim) file `file`: NaN when it holds none, undefined when there is none.
 * Anything but a small regular file (a FIFO would block; a link, dangling or not) holds none.
 */
function ownerOf(file: string): number | undefined {
  try {
    // The name itself, as link() saw it: a dangling link stands there, though stat finds nothing.
    if (!fs.lstatSync(file).isFile()) return NaN;
    return Number(readRegularFileSync(file, { maxBytes: 64 }).toString().trim() || NaN);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : NaN;
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

function alive(pid: number | undefined): pid is number {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return false;
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
  return owner !== process.pid && alive(owner) ? owner : undefined;
}

/** How long a takeover another process has claimed may take before it counts as abandoned. */
const CLAIM_WAIT_MS = 2000;

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
  const claim = claimOf(file);
  const started = Date.now();
  for (;;) {
    // Synchronous from here to the end of a takeover: calls in this process never interleave.
    if (createWithPid(file)) return hold(file);
    const owner = ownerOf(file);
    if (owner === undefined) continue; // released meanwhile
    if (owner === process.pid) {
      throw new Error(`${dir} is ${busy} this process (${file}): one at a time`);
    }
    if (alive(owner)) {
      throw new Error(
        `${dir} is ${busy} process ${owner} (${file}); wait for it, or remove the file if no such process runs`,
      );
    }
    // Stale. Only the process holding the claim replaces it; a live claimant is about done.
    if (!createWithPid(claim)) {
      const claimant = ownerOf(claim);
      if (claimant !== undefined && !(alive(claimant) && Date.now() - started < CLAIM_WAIT_MS)) {
        throw new Error(
          `${dir}: process ${claimant || 'unknown'} began taking over ${file} from a process that no longer runs but did not finish (${claim}); remove both files if no such process runs`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    const temp = tempPathFor(file);
    try {
      // Judged again under the claim: another may have taken it over before we claimed.
      const now = ownerOf(file);
      if (now !== undefined && !alive(now)) {
        fs.writeFileSync(temp, String(process.pid), { flag: 'wx' });
        // Replaces the stale lock in one step: no moment without a lock for a newcomer to take.
        fs.renameSync(temp, file);
        return hold(file);
      }
    } catch (err) {
      throw new Error(`cannot take over ${file}: ${(err as Error).message}`);
    } finally {
      fs.rmSync(temp, { force: true });
      fs.rmSync(claim, { force: true });
    }
  }
}

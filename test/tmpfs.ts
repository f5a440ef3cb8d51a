// A small tmpfs for full-disk and read-only tests: mounting needs root (CAP_SYS_ADMIN); without
// it the tests that need one are skipped with the reason in their title, unless
// SPHEREFACE_REQUIRE_TMPFS=1 (a CI that must run them), where that is an error.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Tmpfs {
  dir: string;
  /** Writes a file of zeros that leaves about `bytes` free (tmpfs counts whole pages). */
  fillLeaving(bytes: number): void;
  /** Remounts it read-only: every write fails with EROFS. */
  makeReadOnly(): void;
  unmount(): void;
}

/** Mounts a tmpfs of `bytes`, or returns why it cannot. */
export function mountTmpfs(bytes: number): Tmpfs | string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    fs.rmdirSync(dir);
    const why = `cannot mount a tmpfs (${(error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message})`;
    if (process.env.SPHEREFACE_REQUIRE_TMPFS === '1')
      throw new Error(`SPHEREFACE_REQUIRE_TMPFS=1 but ${why}`);
    return why;
  }
  return {
    dir,
    fillLeaving(left: number) {
      // Fill to the last byte (the file system's own accounting decides where that is), then
      // give back `left`.
      const file = path.join(dir, 'filler');
      const fd = fs.openSync(file, 'w');
      const chunk = Buffer.alloc(64 << 10);
      let size = 0;
      try {
        for (;;) size += fs.writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
      fs.ftruncateSync(fd, Math.max(0, size - left));
      fs.closeSync(fd);
    },
    makeReadOnly() {
      execFileSync('mount', ['-o', 'remount,ro', dir]);
    },
    unmount() {
      execFileSync('umount', [dir]);
      fs.rmdirSync(dir);
    },
  };
}

/** Mocha: a tmpfs for the test, or the test skipped with the reason in its title. */
export function tmpfsOrSkip(context: Mocha.Context, bytes: number): Tmpfs {
  const mounted = mountTmpfs(bytes);
  if (typeof mounted === 'string') {
    context.test!.title += ` (skipped: ${mounted})`;
    context.skip();
  }
  return mounted as Tmpfs;
}

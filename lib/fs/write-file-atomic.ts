// Write a file so readers see the old content or the new, never a torn one: write a temporary
// file in the same directory, then rename over the target (atomic within one file system).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

let counter = 0;

export interface WriteFileAtomicOptions {
  /** fsync before the rename, so the content survives a power loss too (default true). */
  durable?: boolean;
}

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${counter++}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      if (options.durable ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new Error(`Could not write ${file}: ${(e as Error).message}`);
  }
}

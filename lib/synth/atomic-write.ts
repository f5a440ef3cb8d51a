// Files appear whole or not at all: written next to their final name, then renamed over it
// (rename is atomic within one file system), so an interrupted run never leaves a torn file.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

let counter = 0;

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${process.hrtime.bigint()}.${counter++}.tmp`,
  );
  try {
    await fs.writeFile(temp, data);
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

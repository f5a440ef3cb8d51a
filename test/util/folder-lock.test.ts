// A folder's lock is the process's while it runs: refused to others, taken over from the dead,
// and gone when the process ends, even by process.exit in the middle of the work (a second
// Ctrl-C), so that a pid reused later cannot hold the folder.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { holdsLock, lockFolder } from '../../lib/util/folder-lock';

const LOCK = path.resolve(__dirname, '..', '..', 'lib', 'util', 'folder-lock.js');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-lock-'));
}

describe('lockFolder', () => {
  it('is removed when the process exits holding it, by process.exit or at its end', () => {
    for (const end of ['process.exit(130)', '']) {
      const dir = tempDir();
      const child = spawnSync(
        process.execPath,
        [
          '-e',
          `require(${JSON.stringify(LOCK)}).lockFolder(process.argv[1], 'run.lock', 'in use by')` +
            `.then(() => { console.log(require('fs').readdirSync(process.argv[1]).join()); ${end} })`,
          dir,
        ],
        { encoding: 'utf8' },
      );
      expect(child.stdout.trim(), 'held while it ran').to.equal('run.lock');
      expect(child.status).to.equal(end ? 130 : 0);
      expect(fs.readdirSync(dir), end || 'a normal end').to.deep.equal([]);
    }
  });

  it('refuses a second holder in this process and releases for the next', async () => {
    const dir = tempDir();
    const release = await lockFolder(dir, 'run.lock', 'in use by');
    const error = await lockFolder(dir, 'run.lock', 'in use by').catch((e: Error) => e);
    expect((error as Error).message).to.match(/is in use by this process .*: one at a time$/);
    await release();
    expect(fs.readdirSync(dir)).to.deep.equal([]);
    await (
      await lockFolder(dir, 'run.lock', 'in use by')
    )();
  });

  it('leaves a lock that is no longer its own: the folder was removed and another run took it', async () => {
    const dir = tempDir();
    const release = await lockFolder(dir, 'run.lock', 'in use by');
    expect(await holdsLock(dir, 'run.lock')).to.equal(true);
    fs.rmSync(dir, { recursive: true });
    expect(await holdsLock(dir, 'run.lock')).to.equal(false);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run.lock'), '1'); // another run's (pid 1 runs)
    expect(await holdsLock(dir, 'run.lock')).to.equal(false);
    await release();
    expect(fs.readFileSync(path.join(dir, 'run.lock'), 'utf8')).to.equal('1');
  });
});

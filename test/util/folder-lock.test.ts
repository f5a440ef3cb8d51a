// A folder's lock is the process's while it runs: refused to others, taken over from the dead,
// and gone when the process ends, even by process.exit in the middle of the work (a second
// Ctrl-C), so that a pid reused later cannot hold the folder.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { holdsLock, lockFolder, removeLockOf } from '../../lib/util/folder-lock';

const LOCK = path.resolve(__dirname, '..', '..', 'lib', 'util', 'folder-lock.js');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-lock-'));
}

// A child that tries for the lock when told "go" on stdin, prints "held" or why not, and keeps a
// lock it got until its stdin closes, so that every other child meets a live holder.
const RACER =
  `const { lockFolder } = require(${JSON.stringify(LOCK)});` +
  `process.stdin.on('end', () => process.exit(0));` +
  `process.stdin.once('data', () => lockFolder(process.argv[1], 'run.lock', 'in use by').then(` +
  `() => console.log('held'), (e) => console.log('refused: ' + e.message)));` +
  `console.log('ready');`;

/** The next whole line `child` prints. */
function nextLine(child: ChildProcessWithoutNullStreams, from: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const take = () => {
      const end = from.text.indexOf('\n');
      if (end < 0) return false;
      resolve(from.text.slice(0, end));
      from.text = from.text.slice(end + 1);
      return true;
    };
    if (take()) return;
    const onData = (chunk: Buffer) => {
      from.text += chunk.toString();
      if (take()) child.stdout.off('data', onData);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`racer exited (${code}) before a line`)));
  });
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

  it("lets exactly one of several processes racing take over a dead process's lock", async function () {
    this.timeout(120_000);
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    for (let trial = 0; trial < 6; trial++) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'run.lock'), String(dead));
      const racers = Array.from({ length: 5 }, () => {
        const child = spawn(process.execPath, ['-e', RACER, dir]);
        return { child, out: { text: '' } };
      });
      try {
        for (const r of racers) expect(await nextLine(r.child, r.out)).to.equal('ready');
        for (const r of racers) r.child.stdin.write('go\n');
        const outcomes = await Promise.all(racers.map((r) => nextLine(r.child, r.out)));
        const held = racers.filter((_, k) => outcomes[k] === 'held');
        expect(held, `trial ${trial}: ${outcomes.join('; ')}`).to.have.length(1);
        const holder = held[0].child.pid!;
        expect(fs.readFileSync(path.join(dir, 'run.lock'), 'utf8')).to.equal(String(holder));
        for (const outcome of outcomes.filter((o) => o !== 'held')) {
          expect(outcome).to.match(new RegExp(`^refused: .* is in use by process ${holder} `));
        }
      } finally {
        for (const r of racers) r.child.stdin.end();
        await Promise.all(
          racers.map((r) => r.child.exitCode ?? new Promise((done) => r.child.once('exit', done))),
        );
      }
      expect(fs.readdirSync(dir), 'nothing left behind').to.deep.equal([]);
    }
  });

  it('lets one of many calls in this process take over, and refuses a takeover left unfinished', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const dir = tempDir();
    const lock = path.join(dir, 'run.lock');
    fs.writeFileSync(lock, String(dead));
    const calls = await Promise.allSettled(
      Array.from({ length: 8 }, () => lockFolder(dir, 'run.lock', 'in use by')),
    );
    const held = calls.filter((c) => c.status === 'fulfilled');
    expect(held).to.have.length(1);
    for (const c of calls.filter((c) => c.status === 'rejected')) {
      expect((c.reason as Error).message).to.match(/is in use by this process .*: one at a time$/);
    }
    await held[0].value();
    expect(fs.readdirSync(dir)).to.deep.equal([]);

    // A claim left by a process killed in the middle of a takeover: said so, nothing replaced.
    fs.writeFileSync(lock, String(dead));
    fs.writeFileSync(`${lock}.takeover`, String(dead));
    const error = await lockFolder(dir, 'run.lock', 'in use by').catch((e: Error) => e);
    expect((error as Error).message).to.equal(
      `${dir}: process ${dead} began taking over ${lock} from a process that no longer runs but ` +
        `did not finish (${lock}.takeover); remove both files if no such process runs`,
    );
    expect(fs.readFileSync(lock, 'utf8')).to.equal(String(dead));
    // Nor does a launcher remove a dead worker's lock while another takes it over.
    removeLockOf(lock, dead);
    expect(fs.readFileSync(lock, 'utf8')).to.equal(String(dead));
    fs.rmSync(`${lock}.takeover`);
    removeLockOf(lock, dead);
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });

  // In a child: the old code spun here without yielding, past any timer of this process.
  it('takes over a lock that is a dangling link, and refuses a claim that is one', () => {
    const dir = tempDir();
    const lock = path.join(dir, 'run.lock');
    const nowhere = path.join(dir, 'nowhere', 'x');
    fs.symlinkSync(nowhere, lock);
    const take =
      `require(${JSON.stringify(LOCK)}).lockFolder(process.argv[1], 'run.lock', 'in use by')` +
      `.then(() => console.log('held'), (e) => console.log('refused: ' + e.message));`;
    const run = () =>
      spawnSync(process.execPath, ['-e', take, dir], { encoding: 'utf8', timeout: 20_000 });
    const taken = run();
    expect([taken.signal, taken.stdout.trim()]).to.deep.equal([null, 'held']);
    // The link itself is replaced by a lock file; nothing is made where it pointed. The child's
    // exit removed the lock.
    expect(fs.readdirSync(dir)).to.deep.equal([]);

    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(lock, String(dead));
    fs.symlinkSync(nowhere, `${lock}.takeover`);
    const refused = run();
    expect(refused.signal).to.equal(null);
    expect(refused.stdout.trim()).to.equal(
      `refused: ${dir}: process unknown began taking over ${lock} from a process that no longer ` +
        `runs but did not finish (${lock}.takeover); remove both files if no such process runs`,
    );
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

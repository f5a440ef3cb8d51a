import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import { replaceAtomically, writeFileAtomic, writeFilesAtomic } from '../../lib/util/atomic-write';
import { crc32Yielding } from '../../lib/util/crc32';
import { rejection } from '../rejection';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-atomic-'));
}

describe('replaceAtomically', () => {
  it('refuses a path whose folder is missing or a file, naming it, before building', async () => {
    const dir = await tempDir();
    const missing = path.join(dir, 'runs', 'model.sfm');
    const file = path.join(dir, 'notes.txt');
    await fs.writeFile(file, 'kept');
    let built = false;
    const build = async (temp: string) => {
      built = true;
      await fs.writeFile(temp, 'new');
    };
    expect((await rejection(replaceAtomically(missing, build))).message).to.equal(
      `cannot write ${missing}: its folder ${path.join(dir, 'runs')} does not exist`,
    );
    const under = path.join(file, 'model.sfm');
    expect((await rejection(replaceAtomically(under, build))).message).to.equal(
      `cannot write ${under}: ${file} is not a folder`,
    );
    const slash = path.join(dir, 'new') + path.sep;
    expect((await rejection(replaceAtomically(slash, build))).message).to.equal(
      `cannot write ${slash}: a file path cannot end in ${path.sep}`,
    );
    // Through writeFileAtomic, which names the file in its other errors: said once.
    expect((await rejection(writeFileAtomic(missing, 'x'))).message).to.equal(
      `cannot write ${missing}: its folder ${path.join(dir, 'runs')} does not exist`,
    );
    expect(built, 'refused before building').to.equal(false);
    expect(await fs.readdir(dir)).to.deep.equal(['notes.txt']);
  });

  it('refuses to replace a folder with a file, touching neither it nor its content', async () => {
    const dir = await tempDir();
    const target = path.join(dir, 'out.npy');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'work.txt'), 'keep me');
    let built = false;
    const error = await rejection(
      replaceAtomically(target, async (temp) => {
        built = true;
        await fs.writeFile(temp, 'new');
      }),
    );
    expect(error.message).to.equal(`${target} is a directory`);
    expect(built, 'refused before building').to.equal(false);
    expect(await fs.readFile(path.join(target, 'work.txt'), 'utf8')).to.equal('keep me');
    expect(await fs.readdir(dir)).to.deep.equal(['out.npy']);
  });

  it('refuses to replace a FIFO or a device, directly or through a link, leaving it in place', async () => {
    const dir = await tempDir();
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const specials: [string, string][] = [[fifo, 'a FIFO']];
    // A null device of our own (mknod needs root): what /dev/null is, without risking it.
    const device = path.join(dir, 'null');
    if (spawnSync('mknod', ['-m', '666', device, 'c', '1', '3']).status === 0) {
      specials.push([device, 'a character device']);
    }
    const link = path.join(dir, 'link');
    await fs.symlink(fifo, link);
    let built = false;
    const build = async (temp: string) => {
      built = true;
      await fs.writeFile(temp, 'new');
    };
    for (const [special, kind] of [...specials, [link, 'a FIFO']]) {
      const real = special === link ? fifo : special;
      const refused = `${real} is ${kind}, not a regular file`;
      expect((await rejection(replaceAtomically(special, build))).message).to.equal(refused);
      expect((await rejection(writeFileAtomic(special, 'x'))).message).to.equal(
        `Could not write ${special}: ${refused}`,
      );
      const files = [
        { file: path.join(dir, 'a.json'), data: '{}' },
        { file: special, data: 'x' },
      ];
      expect((await rejection(writeFilesAtomic(files))).message).to.equal(
        `Could not write ${special}: ${refused}`,
      );
    }
    expect(built, 'refused before building').to.equal(false);
    expect((await fs.lstat(fifo)).isFIFO()).to.equal(true);
    expect((await fs.lstat(link)).isSymbolicLink()).to.equal(true);
    if (specials.length > 1) expect((await fs.lstat(device)).isCharacterDevice()).to.equal(true);
    expect((await fs.readdir(dir)).sort(), 'nothing else written').to.deep.equal(
      ['link', 'pipe', ...(specials.length > 1 ? ['null'] : [])].sort(),
    );
  });

  it('leaves no temporary when the process exits mid-write, and puts a moved-aside folder back', async () => {
    const dir = await tempDir();
    const kept = path.join(dir, 'kept');
    await fs.mkdir(kept);
    await fs.writeFile(path.join(kept, 'old.txt'), 'old');
    const lib = JSON.stringify(path.resolve(__dirname, '..', '..', 'lib', 'util', 'atomic-write'));
    // exit() while a checkpoint folder is half built (as a second Ctrl-C does), and while an old
    // folder stands aside between the two renames (the process exits as the new one would go in).
    const script = `
      const fs = require('node:fs/promises');
      const { replaceAtomically } = require(${lib});
      const forever = new Promise(() => {});
      replaceAtomically(${JSON.stringify(path.join(dir, 'checkpoint'))}, async (temp) => {
        await fs.mkdir(temp);
        await fs.writeFile(temp + '/model.sfm', 'half');
        const realRename = fs.rename;
        fs.rename = async (from, to) => {
          if (!to.endsWith('kept')) return realRename(from, to);
          process.exit(130);
        };
        replaceAtomically(${JSON.stringify(kept)}, async (t) => {
          await fs.mkdir(t);
          await fs.writeFile(t + '/new.txt', 'new');
        }, { folder: true });
        await forever;
      }, { folder: true });
    `;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).to.equal(130);
    expect(await fs.readdir(dir), 'no temporary left').to.deep.equal(['kept']);
    expect(await fs.readdir(kept)).to.deep.equal(['old.txt']);
  });

  it('refuses a folder made at the target while the file was being built', async () => {
    const dir = await tempDir();
    const target = path.join(dir, 'model.sfm');
    const error = await rejection(
      replaceAtomically(target, async (temp) => {
        await fs.writeFile(temp, 'new');
        await fs.mkdir(target);
        await fs.writeFile(path.join(target, 'work.txt'), 'keep me');
      }),
    );
    expect(error.message).to.equal(`${target} is a directory`);
    expect(await fs.readFile(path.join(target, 'work.txt'), 'utf8')).to.equal('keep me');
    expect(await fs.readdir(dir), 'no temporary left').to.deep.equal(['model.sfm']);
  });

  it('writes through a symbolic link to the file it names, keeping the link', async () => {
    const dir = await tempDir();
    const real = path.join(dir, 'model.sfm');
    await fs.writeFile(real, 'old');
    const link = path.join(dir, 'link.sfm');
    const chain = path.join(dir, 'chain.sfm');
    await fs.symlink('model.sfm', link); // relative, as ln -s writes it
    await fs.symlink(link, chain);
    await writeFileAtomic(chain, 'new');
    expect(await fs.readFile(real, 'utf8')).to.equal('new');
    expect((await fs.lstat(link)).isSymbolicLink()).to.equal(true);
    expect((await fs.lstat(chain)).isSymbolicLink()).to.equal(true);
    // A dangling link gets its file made.
    const dangling = path.join(dir, 'dangling.sfm');
    await fs.symlink('made.sfm', dangling);
    await writeFileAtomic(dangling, 'made');
    expect(await fs.readFile(path.join(dir, 'made.sfm'), 'utf8')).to.equal('made');
    expect((await fs.lstat(dangling)).isSymbolicLink()).to.equal(true);
  });

  it('names the file asked for, not its temporary, when the build fails', async () => {
    const dir = await tempDir();
    const target = path.join(dir, 'missing', 'x.sfm');
    const error = await rejection(replaceAtomically(target, (temp) => fs.writeFile(temp, 'x')));
    expect(error.message).to.contain(target);
    expect(error.message).to.not.contain('.tmp');
  });

  it('names the folder moved away while the file was being built', async () => {
    const dir = await tempDir();
    const folder = path.join(dir, 'run');
    await fs.mkdir(folder);
    const target = path.join(folder, 'checkpoint.sfm');
    const error = await rejection(
      replaceAtomically(target, async (temp) => {
        await fs.writeFile(temp, 'x');
        await fs.rename(folder, path.join(dir, 'renamed'));
      }),
    );
    expect(error.message).to.equal(
      `cannot write ${target}: its folder ${folder} was moved or removed meanwhile`,
    );
    // Its temporary went with it, under a dot name that the next write there removes.
    expect(await fs.readdir(path.join(dir, 'renamed'))).to.not.include('checkpoint.sfm');
  });

  it('writeFileAtomic names the folder it will not replace', async () => {
    const dir = await tempDir();
    await fs.mkdir(path.join(dir, 'a.json'));
    const error = await rejection(writeFileAtomic(path.join(dir, 'a.json'), '{}'));
    expect(error.message).to.contain(`${path.join(dir, 'a.json')} is a directory`);
    expect((await fs.stat(path.join(dir, 'a.json'))).isDirectory()).to.equal(true);
  });

  it('replaces a file, and a folder with a folder', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'f.txt');
    await fs.writeFile(file, 'old');
    await writeFileAtomic(file, 'new');
    expect(await fs.readFile(file, 'utf8')).to.equal('new');

    const folder = path.join(dir, 'iter-1');
    await fs.mkdir(folder);
    await fs.writeFile(path.join(folder, 'old.txt'), 'old');
    await replaceAtomically(
      folder,
      async (temp) => {
        await fs.mkdir(temp);
        await fs.writeFile(path.join(temp, 'new.txt'), 'new');
      },
      { folder: true },
    );
    expect(await fs.readdir(folder)).to.deep.equal(['new.txt']);
    expect((await fs.readdir(dir)).sort(), 'the old folder removed').to.deep.equal([
      'f.txt',
      'iter-1',
    ]);
  });
});

describe('replaceAtomically, after a killed write', () => {
  it("removes the target's temporaries of dead processes, and no one else's", async () => {
    const dir = await tempDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const killed = path.join(dir, `.m.sfm.${dead}.0.tmp`); // a killed save of m.sfm
    const otherFile = path.join(dir, `.other.sfm.${dead}.0.tmp`);
    const live = path.join(dir, `.m.sfm.${process.pid}.999.tmp`); // a write in progress
    for (const file of [killed, otherFile, live]) await fs.writeFile(file, 'partial');
    await writeFileAtomic(path.join(dir, 'm.sfm'), 'model');
    expect((await fs.readdir(dir)).sort()).to.deep.equal(
      [path.basename(live), path.basename(otherFile), 'm.sfm'].sort(),
    );
  });
});

describe('writeFilesAtomic', () => {
  it('writes files together, or none when one cannot be written', async () => {
    const dir = await tempDir();
    const [a, b] = [path.join(dir, 'x.npy'), path.join(dir, 'x.json')];
    await writeFilesAtomic([
      { file: a, data: 'matrix 1' },
      { file: b, data: 'index 1' },
    ]);
    expect([await fs.readFile(a, 'utf8'), await fs.readFile(b, 'utf8')]).to.deep.equal([
      'matrix 1',
      'index 1',
    ]);
    // The second cannot be written (a folder stands there): the first keeps its old content.
    const blocked = path.join(dir, 'y.json');
    await fs.mkdir(blocked);
    const error = await rejection(
      writeFilesAtomic([
        { file: a, data: 'matrix 2' },
        { file: blocked, data: 'index 2' },
      ]),
    );
    expect(error.message).to.equal(`Could not write ${blocked}: ${blocked} is a directory`);
    expect(await fs.readFile(a, 'utf8')).to.equal('matrix 1');
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['x.json', 'x.npy', 'y.json']);
  });
});

describe('withSignalsHeld', () => {
  it('lets the write finish on Ctrl-C, then exits with 128 + the signal', () => {
    const file = path.join(os.tmpdir(), `sphereface-held-${process.pid}.txt`);
    const script = `
      const { withSignalsHeld } = require(${JSON.stringify(require.resolve('../../lib/cli/hold-signals'))});
      const fs = require('node:fs');
      withSignalsHeld(async () => {
        process.kill(process.pid, 'SIGINT');
        await new Promise((resolve) => setTimeout(resolve, 100));
        fs.writeFileSync(${JSON.stringify(file)}, 'whole');
      }).then(() => setTimeout(() => fs.writeFileSync(${JSON.stringify(file)}, 'after'), 1000));`;
    const child = spawnSync(process.execPath, ['-e', script]);
    expect([child.signal, child.status]).to.deep.equal([null, 130]);
    expect(execFileSync('cat', [file]).toString()).to.equal('whole');
  });
});

describe('crc32Yielding', () => {
  it("equals zlib's CRC-32 of the parts joined, and gives the event loop turns", async () => {
    const parts = [3 << 20, 5, 0, (1 << 20) + 7].map((n, k) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 31 + k) & 255),
    );
    // Counted by a chain of immediates, one a loop turn (a timer needs a millisecond to pass,
    // which a fast CPU's CRC of 4 MiB may not take). The CRC yields before each slice but the
    // first: 5 times here.
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const crc = await crc32Yielding(parts, 12345);
    counting = false;
    expect(crc).to.equal(zlib.crc32(Buffer.concat(parts), 12345));
    expect(turns).to.be.at.least(4);
  });
});

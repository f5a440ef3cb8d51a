// Special files where the data readers expect plain files and folders: symbolic-link loops and
// links into other identities' folders in a training folder, FIFOs, sockets and folders named
// like images or given as list, pairs, landmark, RecordIO, .bin or checkpoint files. Each is
// left out and reported, or refused by name, at once: a FIFO would otherwise block forever.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { recordIOSource } from '../../lib/data/formats/recordio-source';
import { FileListDataset } from '../../lib/data/file-list-dataset';
import { ImageFolderDataset } from '../../lib/data/image-folder-dataset';
import { readVerificationBin } from '../../lib/data/insightface-bin';
import { LandmarksFile } from '../../lib/data/landmarks-file';
import { PairsFile } from '../../lib/data/pairs-file';
import { readCheckpoint } from '../../lib/train/checkpoint';
import { readMetrics } from '../../lib/train/metrics-log';
import { fifo, refusedQuickly, tempDir } from './helpers';

function touch(file: string, text = 'x'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('special files in datasets', () => {
  it('follows no folder link back to the root: personA/up -> .. is left out and reported', () => {
    const root = tempDir();
    touch(path.join(root, 'personA', 'a1.jpg'));
    touch(path.join(root, 'personB', 'b1.jpg'));
    touch(path.join(root, 'personB', 'b2.jpg'));
    fs.symlinkSync('..', path.join(root, 'personA', 'up'));
    const ds = new ImageFolderDataset(root);
    expect(ds.classNames).to.deep.equal(['personA', 'personB']);
    expect(ds.paths).to.deep.equal([
      path.join(root, 'personA', 'a1.jpg'),
      path.join(root, 'personB', 'b1.jpg'),
      path.join(root, 'personB', 'b2.jpg'),
    ]);
    expect(Array.from(ds.labels)).to.deep.equal([0, 1, 1]);
    expect(ds.skipped).to.have.length(1);
    expect(ds.skipped[0].path).to.equal(path.join(root, 'personA', 'up'));
    expect(ds.skipped[0].reason).to.match(/holds the dataset root/);
  });

  it("never takes another identity's images through a link, whichever sorts first", () => {
    const root = tempDir();
    touch(path.join(root, 'alice', 'a.jpg'));
    touch(path.join(root, 'bob', 'b.jpg'));
    touch(path.join(root, 'bob', 'deep', 'c.jpg'));
    touch(path.join(root, 'carol', 'c.jpg'));
    // alice (sorted first) links to bob's folder, carol (sorted last) into bob's subfolder.
    fs.symlinkSync(path.join(root, 'bob'), path.join(root, 'alice', 'friend'));
    fs.symlinkSync(path.join(root, 'bob', 'deep'), path.join(root, 'carol', 'deep'));
    const ds = new ImageFolderDataset(root);
    const byClass = ds.paths.map((p, i) => [ds.classNames[ds.labels[i]], path.relative(root, p)]);
    expect(byClass).to.deep.equal([
      ['alice', 'alice/a.jpg'],
      ['bob', 'bob/b.jpg'],
      ['bob', 'bob/deep/c.jpg'],
      ['carol', 'carol/c.jpg'],
    ]);
    expect(ds.skipped.map((s) => [path.relative(root, s.path), s.reason])).to.deep.equal([
      [
        'alice/friend',
        `leads to ${fs.realpathSync(path.join(root, 'bob'))}, the folder of class bob`,
      ],
      [
        'carol/deep',
        `leads to ${fs.realpathSync(path.join(root, 'bob', 'deep'))}, the folder of class bob`,
      ],
    ]);
  });

  it('follows a folder link inside a class once, by real path, and a class folder link too', () => {
    const root = tempDir();
    const outside = tempDir();
    touch(path.join(outside, 'extra', 'x1.jpg'));
    touch(path.join(outside, 'extra', 'x2.png'));
    touch(path.join(outside, 'dana', 'd.jpg'));
    touch(path.join(root, 'erin', 'e.jpg'));
    fs.symlinkSync(path.join(outside, 'extra'), path.join(root, 'erin', 'more'));
    fs.symlinkSync(path.join(outside, 'extra'), path.join(root, 'erin', 'more-again'));
    fs.symlinkSync('.', path.join(root, 'erin', 'self'));
    fs.symlinkSync(path.join(outside, 'dana'), path.join(root, 'dana'));
    const ds = new ImageFolderDataset(root);
    expect(ds.classNames).to.deep.equal(['dana', 'erin']);
    expect(ds.paths.map((p) => path.relative(root, p))).to.deep.equal([
      'dana/d.jpg',
      'erin/e.jpg',
      'erin/more/x1.jpg',
      'erin/more/x2.png',
    ]);
    expect(ds.skipped.map((s) => path.basename(s.path))).to.deep.equal(['more-again', 'self']);
    expect(ds.skipped[0].reason).to.equal(
      `leads to ${fs.realpathSync(path.join(outside, 'extra'))}, already scanned as ${path.join(root, 'erin', 'more')}`,
    );
  });

  it('leaves out a second class folder that is the same folder as another', () => {
    const root = tempDir();
    touch(path.join(root, 'frank', 'f.jpg'));
    fs.symlinkSync(path.join(root, 'frank'), path.join(root, 'frank-copy'));
    const ds = new ImageFolderDataset(root);
    expect(ds.classNames).to.deep.equal(['frank']);
    expect(ds.skipped.map((s) => path.basename(s.path))).to.deep.equal(['frank-copy']);
  });

  it('lists regular files only: a FIFO, a socket and a broken link named like images are reported', async () => {
    const root = tempDir();
    touch(path.join(root, 'gina', 'g.jpg'));
    fifo(path.join(root, 'gina', 'x.jpg'));
    fs.symlinkSync(path.join(root, 'nowhere.jpg'), path.join(root, 'gina', 'gone.jpg'));
    const socket = path.join(root, 'gina', 's.png');
    const server = net.createServer().listen(socket);
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const ds = new ImageFolderDataset(root);
      expect(ds.paths).to.deep.equal([path.join(root, 'gina', 'g.jpg')]);
      expect(ds.skipped.map((s) => [path.basename(s.path), s.reason])).to.deep.equal([
        ['gone.jpg', 'a symbolic link whose target cannot be read (ENOENT)'],
        ['s.png', 'a socket, not a regular file'],
        ['x.jpg', 'a FIFO, not a regular file'],
      ]);
    } finally {
      server.close();
    }
  });

  it('says why a class folder has no images when its entries were left out', () => {
    const root = tempDir();
    fifo(path.join(root, 'hal', 'only.jpg'));
    expect(() => new ImageFolderDataset(root)).to.throw(
      /class folder .*hal holds no images \(\.jpg, \.jpeg, \.png, \.webp, \.gif, \.bmp files\) \(1 entry left out: see skipped\)/,
    );
  });

  it('refuses a FIFO or a directory given as a list, pairs, landmark, RecordIO, .bin, state or metrics file, at once', async () => {
    const dir = tempDir();
    const pipe = fifo(path.join(dir, 'pipe'));
    const folder = path.join(dir, 'folder');
    fs.mkdirSync(folder);
    for (const [file, kind] of [
      [pipe, 'a FIFO'],
      [folder, 'a directory'],
    ]) {
      const not = new RegExp(`${file} is ${kind}, not a regular file`);
      await refusedQuickly(() => new FileListDataset(file), not);
      await refusedQuickly(() => new PairsFile(file), not);
      await refusedQuickly(() => new LandmarksFile(file), not);
      await refusedQuickly(() => readVerificationBin(file), not);
      await refusedQuickly(() => recordIOSource(file), not);
      await refusedQuickly(() => readMetrics(file), not);
    }
    // A .rec beside a FIFO named as its index, or a FIFO as its property file.
    const rec = touch(path.join(dir, 'rec', 'train.rec'), '');
    fifo(path.join(dir, 'rec', 'train.idx'));
    await refusedQuickly(() => recordIOSource(rec), /train\.idx is a FIFO, not a regular file/);
    const checkpoint = path.join(dir, 'checkpoints', 'iter-00000001');
    fifo(path.join(checkpoint, 'state.json'));
    await refusedQuickly(
      () => readCheckpoint(checkpoint),
      /state\.json is a FIFO, not a regular file/,
    );
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileListDataset } from '../../lib/data/file-list-dataset';
import { ImageFolderDataset } from '../../lib/data/image-folder-dataset';
import { LandmarksFile } from '../../lib/data/landmarks-file';
import { LfwDataset } from '../../lib/data/lfw-dataset';
import { PairsFile } from '../../lib/data/pairs-file';
import { tempDir, writeImage } from './helpers';

function touch(file: string, text = ''): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** An LFW-like tree: root/<Name>/<Name>_000i.jpg (empty files: parsing never decodes). */
function lfwTree(names: Record<string, number>): string {
  const root = tempDir();
  for (const [name, count] of Object.entries(names)) {
    for (let i = 1; i <= count; i++)
      touch(path.join(root, name, `${name}_${String(i).padStart(4, '0')}.jpg`));
  }
  return root;
}

describe('datasets', () => {
  it('ImageFolderDataset gives classes by sorted folder name with per-class counts', () => {
    const root = tempDir();
    for (const f of [
      'b/2.jpg',
      'b/1.PNG',
      'a/x.bmp',
      'a/sub/y.jpeg',
      'c/z.jpg',
      'c/notes.txt',
      '.hidden/q.jpg',
    ]) {
      touch(path.join(root, f));
    }
    touch(path.join(root, 'loose.jpg'));
    const ds = new ImageFolderDataset(root);
    expect(ds.classNames).to.deep.equal(['a', 'b', 'c']);
    expect(ds.classes).to.equal(3);
    expect(ds.length).to.equal(5);
    expect(ds.paths.map((p) => path.relative(root, p))).to.deep.equal([
      'a/sub/y.jpeg',
      'a/x.bmp',
      'b/1.PNG',
      'b/2.jpg',
      'c/z.jpg',
    ]);
    expect(Array.from(ds.labels)).to.deep.equal([0, 0, 1, 1, 2]);
    expect(Array.from(ds.classCounts)).to.deep.equal([2, 2, 1]);
  });

  it('ImageFolderDataset rejects unreadable, empty and image-less folders naming them', () => {
    const root = tempDir();
    expect(() => new ImageFolderDataset(path.join(root, 'nope'))).to.throw(
      /cannot read folder .*nope \(ENOENT\)/,
    );
    expect(() => new ImageFolderDataset(root)).to.throw(/holds no class folders/);
    const interrupted = path.join(root, 'store');
    touch(path.join(interrupted, 'prepare.lock'));
    expect(() => new ImageFolderDataset(interrupted)).to.throw(
      /store is an image store whose preparation did not finish \(prepare\.lock, no manifest\); prepare it again/,
    );
    fs.rmSync(interrupted, { recursive: true });
    touch(path.join(root, 'a', '1.jpg'));
    touch(path.join(root, 'b', 'readme.txt'));
    expect(() => new ImageFolderDataset(root)).to.throw(
      /class folder .*\/b holds no images \(\.jpg, \.jpeg, \.png, \.webp, \.gif, \.bmp files\)/,
    );
  });

  it('FileListDataset reads paths, labels and optional landmarks, naming file and line on errors', () => {
    const dir = tempDir();
    const list = touch(
      path.join(dir, 'list.txt'),
      'a/1.jpg 0\n\n# comment\nb/2.jpg 3 1 2 3 4 5 6 7 8 9 10.5\n',
    );
    const ds = new FileListDataset(list);
    expect(ds.paths).to.deep.equal([path.join(dir, 'a/1.jpg'), path.join(dir, 'b/2.jpg')]);
    expect(Array.from(ds.labels)).to.deep.equal([0, 3]);
    expect(ds.classes).to.equal(4);
    expect(ds.landmarks[0]).to.equal(undefined);
    expect(Array.from(ds.landmarks[1]!)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10.5]);
    const bad = touch(path.join(dir, 'bad.txt'), 'a/1.jpg 0\na/2.jpg x\n');
    expect(() => new FileListDataset(bad)).to.throw(
      /bad\.txt:2: expected a non-negative integer label but found 'x'/,
    );
    const short = touch(path.join(dir, 'short.txt'), 'a/1.jpg 0 1 2 3\n');
    expect(() => new FileListDataset(short)).to.throw(
      /short\.txt:1: expected 'path label' or 'path label x1 y1 \.\.\. x5 y5' but found 5 fields/,
    );
    const spaced = touch(path.join(dir, 'spaced.txt'), 'a/1.jpg 0\nmy photos/2.jpg 1\n');
    expect(() => new FileListDataset(spaced)).to.throw(
      /spaced\.txt:2: expected .* but found 3 fields; a path may not hold spaces$/,
    );
    const nan = touch(path.join(dir, 'nan.txt'), 'a/1.jpg 0 1 2 3 4 5 6 7 8 9 q\n');
    expect(() => new FileListDataset(nan)).to.throw(/nan\.txt:1: landmarks: 'q' is not a number/);
    // One image listed twice (under another spelling of its path): which label would it have?
    const twice = touch(path.join(dir, 'twice.txt'), 'a/1.jpg 0\nb/2.jpg 1\n./a//1.jpg 2\n');
    expect(() => new FileListDataset(twice)).to.throw(
      `${twice}:3: ./a//1.jpg is listed again (first on line 1, label 0; here label 2)`,
    );
  });

  it('LandmarksFile joins tab-separated landmark lines to images by relative path', () => {
    const root = tempDir();
    const file = touch(
      path.join(root, 'lm.txt'),
      'A/A_0001.jpg\t3\t1 2 3 4 5 6 7 8 9 10\nB/B_0002.jpg\t7\t11 12 13 14 15 16 17 18 19 20\n',
    );
    const lm = new LandmarksFile(file);
    expect(lm.size).to.equal(2);
    const joined = lm.forPaths(root, [
      path.join(root, 'B/B_0002.jpg'),
      path.join(root, 'A/A_0001.jpg'),
    ]);
    expect(Array.from(joined[0]!)).to.deep.equal([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(Array.from(joined[1]!)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(() => lm.forPaths(root, [path.join(root, 'C/C_0001.jpg')])).to.throw(
      /no landmarks for C\/C_0001\.jpg/,
    );
    expect(lm.forPaths(root, [path.join(root, 'C/C_0001.jpg')], { required: false })).to.deep.equal(
      [undefined],
    );
    const few = touch(
      path.join(root, 'few.txt'),
      'A/A_0001.jpg\t1 2 3 4 5 6 7 8 9 10\nA/A_0002.jpg\t1 2 3 4 5 6 7 8 9\n',
    );
    expect(() => new LandmarksFile(few)).to.throw(
      /few\.txt:2: expected 10 landmark numbers .* but found 9/,
    );
    // One form a file: a stray 11th number would pass as a label and shift every coordinate.
    const mixed = touch(
      path.join(root, 'mixed.txt'),
      'A/A_0001.jpg\t1 2 3 4 5 6 7 8 9 10\nA/A_0002.jpg\t1 2 3 4 5 6 7 8 9 10 7\n',
    );
    expect(() => new LandmarksFile(mixed)).to.throw(
      `${mixed}:2: 11 numbers (a label, then x1 ... y5) after the path, where line 1 has 10 ` +
        'numbers; every line of a landmark file has one form',
    );
    const twice = touch(
      path.join(root, 'twice.txt'),
      'A/A_0001.jpg\t1 2 3 4 5 6 7 8 9 10\n./A/A_0001.jpg\t2 2 3 4 5 6 7 8 9 10\n',
    );
    expect(() => new LandmarksFile(twice)).to.throw(
      `${twice}:2: ./A/A_0001.jpg is listed again (first on line 1)`,
    );
  });

  it('PairsFile numbers folds from the header and accepts tabs or spaces', () => {
    const dir = tempDir();
    // 2 folds of 2 matched + 2 mismatched pairs.
    const text = [
      '2\t2',
      'Ann 1 2',
      'Bob\t1\t3',
      'Ann 1 Bob 2',
      'Cid\t1 Ann 2',
      'Bob 2 3',
      'Cid 1 2',
      'Bob 1\tCid 1',
      'Ann  2   Cid 1',
    ].join('\n');
    const pf = new PairsFile(touch(path.join(dir, 'pairs.txt'), text + '\n'));
    expect(pf.folds).to.equal(2);
    expect(pf.perFold).to.equal(2);
    expect(pf.pairs.map((p) => [p.fold, p.same, p.line])).to.deep.equal([
      [0, true, 2],
      [0, true, 3],
      [0, false, 4],
      [0, false, 5],
      [1, true, 6],
      [1, true, 7],
      [1, false, 8],
      [1, false, 9],
    ]);
    expect(pf.pairs[3]).to.include({ nameA: 'Cid', indexA: 1, nameB: 'Ann', indexB: 2 });
  });

  it('PairsFile follows the standard layout: fold i is lines 600i+2..600i+601 of a 10 x 300 file', () => {
    const lines = ['10\t300'];
    for (let f = 0; f < 10; f++) {
      for (let k = 0; k < 300; k++) lines.push(`P${f} ${k + 1} ${k + 2}`);
      for (let k = 0; k < 300; k++) lines.push(`P${f} ${k + 1} Q${f} ${k + 1}`);
    }
    const pf = new PairsFile(touch(path.join(tempDir(), 'pairs.txt'), lines.join('\n')));
    expect(pf.pairs.length).to.equal(6000);
    for (const p of pf.pairs) {
      // Pair number k (1-based) sits on file line k + 1; fold = floor((k - 1) / 600).
      const k = p.line - 1;
      expect(p.fold).to.equal(Math.floor((k - 1) / 600));
      expect(p.same).to.equal((k - 1) % 600 < 300);
      expect(p.nameA).to.equal(`P${p.fold}`);
    }
  });

  it('PairsFile rejects lines that do not parse, naming file and line', () => {
    const dir = tempDir();
    const f = (name: string, text: string) => touch(path.join(dir, name), text);
    expect(() => new PairsFile(f('a.txt', '1 1\nAnn 1 2\nAnn 1\n'))).to.throw(
      /a\.txt:3: expected a mismatched pair 'name1 i name2 j' \(fold 1\) but found 2 fields/,
    );
    expect(() => new PairsFile(f('b.txt', '1 1\nAnn 1 x\nAnn 1 Bob 1\n'))).to.throw(
      /b\.txt:2: expected a positive image number but found 'x'/,
    );
    expect(() => new PairsFile(f('c.txt', 'ten 300\n'))).to.throw(/c\.txt:1: expected a header/);
    expect(() => new PairsFile(f('d.txt', '2 1\nAnn 1 2\nAnn 1 Bob 1\n'))).to.throw(
      /d\.txt: the header '2 1' promises 4 pairs but the file ends after 2 pairs/,
    );
    // A short file whose lines do not parse: the line is named, not the count.
    expect(() => new PairsFile(f('s.txt', '2 10\nfoo bar\n'))).to.throw(
      /s\.txt:2: expected a matched pair 'name i j' \(fold 1\) but found 2 fields: 'foo bar'/,
    );
    // Too many lines: a repeated one is named with the line it repeats, else the first extra.
    expect(() => new PairsFile(f('g.txt', '1 1\nAnn 1 2\nAnn 1 2\nAnn 1 Bob 1\n'))).to.throw(
      /g\.txt:3: repeats line 2; the header '1 1' promises 2 pairs but the file has 1 lines too many/,
    );
    expect(() => new PairsFile(f('h.txt', '1 1\nAnn 1 2\nAnn 1 Bob 1\nCyd 1 2\n'))).to.throw(
      /h\.txt:4: the header '1 1' promises 2 pairs but the file has 1 lines too many/,
    );
    expect(() => new PairsFile(f('e.txt', '1 1\nAnn 1 Bob 1\nAnn 1 2\n'))).to.throw(
      /e\.txt:2: expected a matched pair/,
    );
    // Pairs that parse but mean nothing: a photo with itself, one person as two.
    expect(() => new PairsFile(f('i.txt', '1 1\nAnn 3 3\nAnn 1 Bob 1\n'))).to.throw(
      "i.txt:2: a matched pair needs two photos but 'Ann 3 3' pairs photo 3 of Ann with itself",
    );
    expect(() => new PairsFile(f('j.txt', '1 1\nAnn 1 2\nBob 1 Bob 2\n'))).to.throw(
      "j.txt:3: a mismatched pair needs two people but 'Bob 1 Bob 2' names Bob twice (fold 1)",
    );
  });

  it('LfwDataset exposes the unique images and pairs with folds; pairsDevTest is one set', () => {
    const root = lfwTree({ Ann: 2, Bob: 3, Cid: 1 });
    const pairs = touch(
      path.join(root, 'pairsDevTest.txt'),
      '2\nAnn 1 2\nBob 1 3\nAnn 1 Bob 2\nCid 1 Ann 2\n',
    );
    const lfw = new LfwDataset(root, pairs);
    expect(lfw.folds).to.equal(1);
    expect(lfw.images.map((p) => path.relative(root, p))).to.deep.equal([
      'Ann/Ann_0001.jpg',
      'Ann/Ann_0002.jpg',
      'Bob/Bob_0001.jpg',
      'Bob/Bob_0003.jpg',
      'Bob/Bob_0002.jpg',
      'Cid/Cid_0001.jpg',
    ]);
    expect(lfw.pairs).to.deep.equal([
      { a: 0, b: 1, same: true, fold: 0, line: 2 },
      { a: 2, b: 3, same: true, fold: 0, line: 3 },
      { a: 0, b: 4, same: false, fold: 0, line: 4 },
      { a: 5, b: 1, same: false, fold: 0, line: 5 },
    ]);
    // Each image's identity from its name, for the Angular Fisher Score.
    expect(lfw.classNames).to.deep.equal(['Ann', 'Bob', 'Cid']);
    expect(Array.from(lfw.labels)).to.deep.equal([0, 0, 1, 1, 1, 2]);
  });

  it('LfwDataset rejects a pair naming a missing image, or skips and reports it', () => {
    const root = lfwTree({ Ann: 2, Bob: 1 });
    const pairs = touch(path.join(root, 'pairs.txt'), '1 1\nAnn 1 3\nAnn 1 Bob 1\n');
    expect(() => new LfwDataset(root, pairs)).to.throw(
      /pairs\.txt:2: the pair names .*Ann_0003\.jpg, which does not exist/,
    );
    const lfw = new LfwDataset(root, pairs, { onBadImage: 'skip' });
    expect(lfw.pairs).to.deep.equal([{ a: 0, b: 1, same: false, fold: 0, line: 3 }]);
    expect(lfw.skipped).to.have.length(1);
    expect(lfw.skipped[0].line).to.equal(2);
  });

  it('datasets load real images end to end', async () => {
    const root = tempDir();
    await writeImage(path.join(root, 'x', '1.jpg'), 20, 16);
    await writeImage(path.join(root, 'y', '1.png'), 20, 16, undefined, 'image/png');
    const set = await new ImageFolderDataset(root).load({ threads: 1 });
    expect([set.n, set.height, set.width]).to.deep.equal([2, 16, 20]);
    expect(Array.from(set.labels!)).to.deep.equal([0, 1]);
  });
});

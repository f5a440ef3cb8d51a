import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { generateSyntheticFaces, type SynthOptions, type SynthResult } from '../../lib';
import { ImageFolderDataset } from '../../lib/data/image-folder-dataset';
import { LandmarksFile } from '../../lib/data/landmarks-file';
import { LfwDataset } from '../../lib/data/lfw-dataset';

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

const small = {
  identities: 3,
  images: 2,
  heldOutIdentities: 4,
  heldOutImages: 3,
  folds: 2,
  pairsPerFold: 4,
  seed: 7,
};

describe('generateSyntheticFaces', () => {
  let root: string;
  let first: SynthResult;

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-'));
    first = await generateSyntheticFaces({ ...small, out: path.join(root, 'a'), workers: 1 });
  });

  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('writes byte-identical files for the same seed, whether or not workers render', async () => {
    await generateSyntheticFaces({ ...small, out: path.join(root, 'b'), workers: 2 });
    const a = listFiles(path.join(root, 'a'));
    expect(listFiles(path.join(root, 'b'))).to.deep.equal(a);
    for (const file of a) {
      const same = fs
        .readFileSync(path.join(root, 'a', file))
        .equals(fs.readFileSync(path.join(root, 'b', file)));
      expect(same, file).to.equal(true);
    }
  });

  it('writes different people for a different seed', async () => {
    const other = await generateSyntheticFaces({ ...small, seed: 8, out: path.join(root, 'c') });
    expect(other.trainNames).to.not.deep.equal(first.trainNames);
    const jpeg = (r: SynthResult) =>
      fs.readFileSync(path.join(r.trainDir, r.trainNames[0], `${r.trainNames[0]}_0001.jpg`));
    expect(jpeg(other).equals(jpeg(first))).to.equal(false);
  });

  it('lays out one folder per training identity and LFW names for disjoint held-out people', async () => {
    const train = fs.readdirSync(first.trainDir).sort();
    const lfw = fs.readdirSync(first.lfwDir).sort();
    expect(train).to.have.length(small.identities);
    expect(lfw).to.have.length(small.heldOutIdentities);
    expect(train.filter((name) => lfw.includes(name))).to.deep.equal([]);
    for (const [dir, people, count] of [
      [first.trainDir, train, small.images],
      [first.lfwDir, lfw, small.heldOutImages],
    ] as const) {
      for (const name of people) {
        expect(name).to.match(/^[A-Z][a-z]+_[A-Z][a-z]+$/);
        const expected = Array.from(
          { length: count },
          (_, k) => `${name}_${String(k + 1).padStart(4, '0')}.jpg`,
        );
        expect(fs.readdirSync(path.join(dir, name)).sort()).to.deep.equal(expected);
      }
    }
    const image = await Jimp.read(path.join(first.lfwDir, lfw[0], `${lfw[0]}_0001.jpg`));
    expect([image.bitmap.width, image.bitmap.height]).to.deep.equal([250, 250]);
    // No temporary files are left behind by the atomic writes.
    expect(listFiles(root).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('reuses a complete set with the same settings and regenerates after a change', async () => {
    const out = path.join(root, 'a');
    const file = path.join(first.trainDir, first.trainNames[0], `${first.trainNames[0]}_0001.jpg`);
    const before = fs.statSync(file).mtimeMs;
    const again = await generateSyntheticFaces({ ...small, out });
    expect(again.reused).to.equal(true);
    expect(fs.statSync(file).mtimeMs).to.equal(before);
    const changed = await generateSyntheticFaces({ ...small, out: path.join(root, 'd') });
    expect(changed.reused).to.equal(false);
    const fewer = await generateSyntheticFaces({
      ...small,
      identities: 2,
      out: path.join(root, 'd'),
    });
    expect(fewer.reused).to.equal(false);
    // No folder of the larger set is left behind to pose as an identity.
    expect(fs.readdirSync(fewer.trainDir).sort()).to.deep.equal(fewer.trainNames);
  });

  it('draws a set again when one of its files is gone or empty, with the same bytes', async () => {
    const out = path.join(root, 'damaged');
    const set = await generateSyntheticFaces({ ...small, out });
    const before = new Map(listFiles(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    const person = set.heldOutNames[0];
    const lost = [
      path.join(set.lfwDir, person, `${person}_0002.jpg`),
      set.pairsFile,
      set.trainLandmarksFile,
    ];
    for (const [k, file] of lost.entries()) {
      if (k === 0) fs.rmSync(file);
      else fs.writeFileSync(file, '');
      const again = await generateSyntheticFaces({ ...small, out });
      expect(again.reused, path.relative(out, file)).to.equal(false);
      for (const [f, bytes] of before) {
        expect(fs.readFileSync(path.join(out, f)).equals(bytes), f).to.equal(true);
      }
    }
  });

  it('refuses to write over image folders it did not write', async () => {
    const out = path.join(root, 'foreign');
    fs.mkdirSync(path.join(out, 'train', 'Someone'), { recursive: true });
    fs.writeFileSync(path.join(out, 'train', 'Someone', 'photo.jpg'), 'not ours');
    await expectReject(
      generateSyntheticFaces({ ...small, out }),
      /holds files generateSyntheticFaces did not write \(train\/Someone, train\/Someone\/photo\.jpg\)/,
    );
    expect(fs.readFileSync(path.join(out, 'train', 'Someone', 'photo.jpg'), 'utf8')).to.equal(
      'not ours',
    );
  });

  it('regenerates over its own set but keeps what a user added to it, refusing instead', async () => {
    const out = path.join(root, 'added');
    const set = await generateSyntheticFaces({ ...small, out });
    const person = set.trainNames[0];
    const added = [
      path.join(out, 'train', person, 'mine.jpg'),
      path.join(out, 'lfw', 'Me', 'Me_0001.jpg'),
    ];
    fs.mkdirSync(path.dirname(added[1]));
    for (const file of added) fs.writeFileSync(file, 'a user photo');
    const before = listFiles(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'latin1')]);
    await expectReject(
      generateSyntheticFaces({ ...small, identities: 2, out }),
      new RegExp(`did not write \\(train/${person}/mine\\.jpg, lfw/Me, lfw/Me/Me_0001\\.jpg\\)`),
    );
    const after = listFiles(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'latin1')]);
    expect(after).to.deep.equal(before);
    // With the user's files gone, the change goes through.
    fs.rmSync(added[0]);
    fs.rmSync(path.dirname(added[1]), { recursive: true });
    const fewer = await generateSyntheticFaces({ ...small, identities: 2, out });
    expect(fs.readdirSync(fewer.trainDir).sort()).to.deep.equal(fewer.trainNames);
  });

  it('knows the files of an interrupted set from its partial marker', async () => {
    const out = path.join(root, 'interrupted');
    await generateSyntheticFaces({ ...small, out });
    // What a run killed while rendering leaves: the marker naming its settings, no synth.json.
    fs.renameSync(path.join(out, 'synth.json'), path.join(out, '.synth-partial'));
    const mine = path.join(out, 'train', 'Mine');
    fs.mkdirSync(mine);
    await expectReject(generateSyntheticFaces({ ...small, seed: 8, out }), /\(train\/Mine\)/);
    expect(fs.existsSync(mine)).to.equal(true);
    fs.rmdirSync(mine);
    const again = await generateSyntheticFaces({ ...small, seed: 8, out });
    expect(fs.existsSync(path.join(out, '.synth-partial'))).to.equal(false);
    expect(fs.readdirSync(again.trainDir).sort()).to.deep.equal(again.trainNames);
  });

  it('refuses a file where its image folder goes, and leaves it', async () => {
    const out = path.join(root, 'file');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'lfw'), 'a file');
    await expectReject(generateSyntheticFaces({ ...small, out }), /did not write \(lfw\)/);
    expect(fs.readFileSync(path.join(out, 'lfw'), 'utf8')).to.equal('a file');
  });

  it('writes pairs.txt in the standard form: folds of matched then mismatched pairs', () => {
    const lines = fs.readFileSync(first.pairsFile, 'utf8').trimEnd().split('\n');
    expect(lines[0].split(/\s+/).map(Number)).to.deep.equal([small.folds, small.pairsPerFold]);
    expect(lines).to.have.length(1 + 2 * small.folds * small.pairsPerFold);
    const peopleOfFold: Set<string>[] = [];
    const seen = new Set<string>();
    for (let f = 0; f < small.folds; f++) {
      const people = new Set<string>();
      const block = lines.slice(
        1 + 2 * f * small.pairsPerFold,
        1 + 2 * (f + 1) * small.pairsPerFold,
      );
      block.forEach((line, k) => {
        const fields = line.split(/\s+/);
        const isMatched = k < small.pairsPerFold;
        expect(fields, line).to.have.length(isMatched ? 3 : 4);
        const [n1, i, n2, j] = isMatched
          ? [fields[0], +fields[1], fields[0], +fields[2]]
          : [fields[0], +fields[1], fields[2], +fields[3]];
        if (isMatched) expect(i, line).to.not.equal(j);
        else expect(n1, line).to.not.equal(n2);
        for (const [name, n] of [
          [n1, i],
          [n2, j],
        ] as const) {
          expect(Number.isInteger(n) && n >= 1 && n <= small.heldOutImages, line).to.equal(true);
          const file = path.join(first.lfwDir, name, `${name}_${String(n).padStart(4, '0')}.jpg`);
          expect(fs.existsSync(file), file).to.equal(true);
          people.add(name);
        }
        expect(seen.has(line), `repeated ${line}`).to.equal(false);
        seen.add(line);
      });
      peopleOfFold.push(people);
    }
    // As in LFW, nobody appears in two folds.
    const [a, b] = peopleOfFold;
    expect([...a].filter((name) => b.has(name))).to.deep.equal([]);
  });

  it('lists five plausible landmarks for every image', () => {
    for (const [file, dir] of [
      [first.trainLandmarksFile, first.trainDir],
      [first.lfwLandmarksFile, first.lfwDir],
    ]) {
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => l.split('\t')[0]).sort()).to.deep.equal(
        listFiles(dir).map((f) => f.split(path.sep).join('/')),
      );
      for (const line of lines) {
        const [, numbers] = line.split('\t');
        const p = numbers.split(' ').map(Number);
        expect(p, line).to.have.length(10);
        for (const v of p) expect(v >= 0 && v < 250, line).to.equal(true);
        const [lex, ley, rex, rey, nx, ny, lmx, lmy, rmx, rmy] = p;
        expect(lex, line).to.be.below(rex);
        expect(lmx, line).to.be.below(rmx);
        expect(Math.max(ley, rey), line).to.be.below(ny);
        expect(ny, line).to.be.below(Math.min(lmy, rmy));
        expect(nx > Math.min(lex, lmx) && nx < Math.max(rex, rmx), line).to.equal(true);
      }
    }
  });

  it("reads back with the library's own ImageFolder, LFW and landmark readers", () => {
    const train = new ImageFolderDataset(first.trainDir);
    expect(train.classNames).to.deep.equal(first.trainNames);
    expect(train.length).to.equal(small.identities * small.images);
    const lfw = new LfwDataset(first.lfwDir, first.pairsFile);
    expect(lfw.folds).to.equal(small.folds);
    expect(lfw.pairs).to.have.length(2 * small.folds * small.pairsPerFold);
    expect(lfw.pairs.filter((p) => p.same)).to.have.length(small.folds * small.pairsPerFold);
    const landmarks = new LandmarksFile(first.lfwLandmarksFile);
    expect(landmarks.forPaths(first.lfwDir, lfw.images)).to.have.length(lfw.images.length);
  });

  it('rejects bad sizes naming the argument', async () => {
    const out = path.join(root, 'bad');
    await expectReject(generateSyntheticFaces({ out, identities: 0, images: 2 }), /identities/);
    await expectReject(generateSyntheticFaces({ out, identities: 2, images: 1.5 }), /images/);
    await expectReject(
      generateSyntheticFaces({ out, identities: 2, images: 2, heldOutImages: 1 }),
      /heldOutImages/,
    );
    await expectReject(
      generateSyntheticFaces({ ...small, out, pairsPerFold: 1000 }),
      /pairsPerFold = 1000/,
    );
    await expectReject(generateSyntheticFaces({ ...small, out, seed: -1 }), /seed/);
    await expectReject(generateSyntheticFaces({ ...small, out, variation: 2 }), /variation/);
    await expectReject(generateSyntheticFaces({ ...small, out, workers: 0 }), /workers/);
    expect(fs.existsSync(out)).to.equal(false);
  });

  it('refuses absurd sizes at once, naming the option, before any work', async () => {
    const out = path.join(root, 'huge');
    const started = Date.now();
    await expectReject(
      generateSyntheticFaces({ out, identities: 10, images: 1e9 }),
      /^Expected an integer in 1\.\.10000 for images but received 1000000000 of type number$/,
    );
    await expectReject(
      generateSyntheticFaces({ out, identities: 1e9, images: 10 }),
      /^Expected an integer in 1\.\.100000 for identities but received 1000000000 of type number$/,
    );
    await expectReject(
      generateSyntheticFaces({ out, identities: 100_000, images: 100 }),
      /identities x images \+ heldOutIdentities x heldOutImages = 10,001,000 images, over the limit of 1,000,000/,
    );
    await expectReject(
      generateSyntheticFaces({ out, identities: 2, images: 2, heldOutImages: 1000 }),
      /= 49,950,000 same-person pairs .* over the limit of 1,000,000; lower heldOutImages/,
    );
    await expectReject(
      generateSyntheticFaces({ ...small, out, workers: 1e9 }),
      /Expected an integer in 1\.\.1024 for workers/,
    );
    expect(Date.now() - started).to.be.below(1000);
    expect(fs.existsSync(out)).to.equal(false);
  });

  it('names the option and quotes a string in type errors', async () => {
    const out = path.join(root, 'typed');
    const loose = (options: object) => generateSyntheticFaces(options as SynthOptions);
    await expectReject(
      loose({ out, identities: '5', images: 2 }),
      /^Expected an integer in 1\.\.100000 for identities but received '5'$/,
    );
    await expectReject(loose({ ...small, out, occluders: 'no' }), /a boolean for occluders/);
    await expectReject(
      loose({ ...small, out: 123 }),
      /^Expected a folder path for out but received 123 of type number$/,
    );
    await expectReject(
      (generateSyntheticFaces as () => Promise<SynthResult>)(),
      /^Expected an options object \(\{ out, identities, images, \.\.\. \}\) for options but received a value of type undefined$/,
    );
    expect(fs.existsSync(out)).to.equal(false);
  });
});

async function expectReject(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a rejection matching ${pattern}`);
}

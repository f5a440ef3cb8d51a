import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { loadModel } from '../../lib';
import { sphereMain, tempDir, tinyFaces, savedModel } from './cli-helpers';
import type { SynthResult } from '../../lib/synth/generate';

// Outputs that name a folder, or one of the command's own inputs, are refused with nothing lost.
describe('sphereface output paths', function () {
  let out: string;
  let modelFile: string;
  let modelBytes: Buffer;
  let image: string;

  before(async () => {
    const faces = await tinyFaces();
    out = await tempDir();
    modelFile = path.join(out, 'model.sfm');
    await savedModel(modelFile);
    modelBytes = await fs.readFile(modelFile);
    const person = faces.heldOutNames[0];
    image = path.join(faces.lfwDir, person, `${person}_0001.jpg`);
  });
  after(() => fs.rm(out, { recursive: true, force: true }));

  /** `eval` of the tiny set's held-out pairs with the test's model. */
  function evalOf(faces: SynthResult): string[] {
    return ['eval', '--model', modelFile, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile];
  }

  /** A folder holding work of the user's, at `dir`. */
  async function folderOfWork(dir: string): Promise<void> {
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'work.txt'), 'keep me');
  }

  async function expectWorkKept(dir: string): Promise<void> {
    expect(await fs.readFile(path.join(dir, 'work.txt'), 'utf8')).to.equal('keep me');
  }

  it('refuses an output that is a folder, before any work, keeping the folder', async () => {
    const dir = path.join(out, 'folders');
    await folderOfWork(path.join(dir, 'results.npy'));
    const embed = await sphereMain([
      'embed',
      '--model',
      modelFile,
      '--out',
      path.join(dir, 'results'),
      image,
    ]);
    expect(embed.code).to.equal(2);
    expect(embed.stderr).to.contain(`--out ${path.join(dir, 'results.npy')} is a directory`);
    await expectWorkKept(path.join(dir, 'results.npy'));
    expect(await fs.readdir(dir), 'no results.json beside it').to.deep.equal(['results.npy']);

    const net = path.join(dir, 'net.pt');
    await folderOfWork(net);
    const exported = await sphereMain(['export', '--model', modelFile, '--out', net]);
    expect(exported.code).to.equal(2);
    expect(exported.stderr).to.contain(`--out ${net} is a directory`);
    await expectWorkKept(net);

    const gallery = path.join(dir, 'gallery');
    await folderOfWork(gallery);
    const faces = await tinyFaces();
    const built = await sphereMain([
      'gallery',
      'build',
      '--model',
      modelFile,
      '--root',
      faces.lfwDir,
      '--gallery',
      gallery,
    ]);
    expect(built.code).to.equal(2);
    expect(built.stderr).to.contain(`--gallery ${gallery} is a directory`);
    await expectWorkKept(gallery);
  });

  it('refuses a report folder the report cannot go into, before any work', async () => {
    const faces = await tinyFaces();
    const dir = path.join(out, 'report');
    await folderOfWork(path.join(dir, 'summary.json'));
    const evaluated = await sphereMain([
      'eval',
      '--model',
      modelFile,
      '--lfw',
      faces.lfwDir,
      '--pairs',
      faces.pairsFile,
      '--out',
      dir,
    ]);
    expect(evaluated.code).to.equal(2);
    expect(evaluated.stderr).to.contain(
      `--out ${path.join(dir, 'summary.json')} is a directory; the report writes a file there`,
    );
    expect(evaluated.stderr, 'refused before decoding').to.not.contain('decoding');
    expect(await fs.readdir(dir), 'no plots written').to.deep.equal(['summary.json']);
    await expectWorkKept(path.join(dir, 'summary.json'));
  });

  it('refuses an embed prefix that names a folder, which would hide the files in it', async () => {
    const dir = path.join(out, 'prefix');
    await folderOfWork(dir);
    for (const prefix of [dir, `${dir}${path.sep}`, path.join(dir, '.')]) {
      const embed = await sphereMain(['embed', '--model', modelFile, '--out', prefix, image]);
      expect(embed.code, prefix).to.equal(2);
      expect(embed.stderr).to.contain(`--out ${prefix} is a directory; give a file prefix`);
      expect(await fs.readdir(dir)).to.deep.equal(['work.txt']);
    }
  });

  it("refuses a report folder holding another command's report, and train --out inside --data", async () => {
    const faces = await tinyFaces();
    const dir = path.join(out, 'trained');
    await fs.mkdir(path.join(dir, 'plots'), { recursive: true });
    const summary = JSON.stringify({ command: 'train', iterations: 3 });
    await fs.writeFile(path.join(dir, 'summary.json'), summary);
    await fs.writeFile(path.join(dir, 'plots', 'loss.png'), 'a plot');
    const evalArgs = evalOf(faces);
    const evaluated = await sphereMain([...evalArgs, '--out', dir]);
    expect(evaluated.code).to.equal(2);
    expect(evaluated.stderr).to.contain(
      `--out ${dir} holds the report of a 'train' run (its summary.json), which this eval's report would replace`,
    );
    expect(await fs.readFile(path.join(dir, 'summary.json'), 'utf8')).to.equal(summary);
    expect(await fs.readdir(path.join(dir, 'plots'))).to.deep.equal(['loss.png']);
    // A report of its own command is the one it replaces.
    const again = path.join(out, 'evaluated');
    await fs.mkdir(again);
    await fs.writeFile(path.join(again, 'summary.json'), JSON.stringify({ command: 'eval' }));
    expect((await sphereMain([...evalArgs, '--out', again])).code).to.equal(0);

    const inside = path.join(faces.trainDir, 'run');
    const trained = await sphereMain(['train', '--data', faces.trainDir, '--out', inside]);
    expect(trained.code).to.equal(2);
    expect(trained.stderr).to.contain(
      `--out ${inside} is inside --data ${faces.trainDir}: the run's files would become part of its images`,
    );
    expect(await fs.readdir(faces.trainDir)).to.not.include('run');
  });

  it('refuses a --cache that is a file, and an output file named with a trailing slash', async () => {
    const faces = await tinyFaces();
    const file = path.join(out, 'cache-file');
    await fs.writeFile(file, 'keep me');
    const evalArgs = evalOf(faces);
    for (const [cache, message] of [
      [file, `--cache ${file} is a file, not a folder`],
      [
        path.join(file, 'sub'),
        `--cache ${path.join(file, 'sub')}: ${file} is a file, not a folder`,
      ],
    ]) {
      const r = await sphereMain([...evalArgs, '--cache', cache]);
      expect([r.code, r.stderr]).to.deep.equal([2, `sphereface eval: ${message}`]);
    }
    // A file as prepare's or synth's --out, or train's --cache: usage errors as the others.
    for (const [command, args] of [
      ['prepare', ['--data', faces.trainDir, '--out', file]],
      ['synth', ['--identities', '2', '--images', '2', '--out', file]],
      ['train', ['--data', faces.trainDir, '--out', path.join(out, 'run'), '--cache', file]],
    ] as const) {
      const flag = command === 'train' ? '--cache' : '--out';
      const r = await sphereMain([command, ...args]);
      expect([r.code, r.stderr]).to.deep.equal([
        2,
        `sphereface ${command}: ${flag} ${file} is a file, not a folder`,
      ]);
    }
    expect(await fs.readFile(file, 'utf8')).to.equal('keep me');
    const folderName = path.join(out, 'exported') + path.sep;
    const exported = await sphereMain(['export', '--model', modelFile, '--out', folderName]);
    expect([exported.code, exported.stderr]).to.deep.equal([
      2,
      `sphereface export: --out ${folderName} names a folder; give a file name`,
    ]);
  });

  it('refuses an output below a file before any work, and makes missing folders', async () => {
    const faces = await tinyFaces();
    const file = path.join(out, 'a-file');
    await fs.writeFile(file, 'keep me');
    const below = (name: string) => path.join(file, 'sub', name);
    const cases: [string[], string][] = [
      [['embed', '--model', modelFile, '--out', below('x'), image], `--out ${below('x.npy')}`],
      [['export', '--model', modelFile, '--out', below('net.pt')], `--out ${below('net.pt')}`],
      [
        ['gallery', 'build', '--model', modelFile, '--root', faces.lfwDir, '--gallery', below('g')],
        `--gallery ${below('g')}`,
      ],
      [
        ['eval', '--model', modelFile, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
        `--out ${below('r')}`,
      ],
      [['train', '--data', faces.trainDir, '--arch', 'sphere-cnn4'], `--out ${below('r')}`],
    ];
    for (const [args, flag] of cases) {
      const withOut =
        args[0] === 'eval' || args[0] === 'train' ? [...args, '--out', below('r')] : args;
      const refused = await sphereMain(withOut);
      expect([refused.code, refused.stderr], args[0]).to.deep.equal([
        2,
        `sphereface ${args[0]}: ${flag}: ${file} is a file, not a folder`,
      ]);
    }
    expect(await fs.readFile(file, 'utf8')).to.equal('keep me');
    // Missing folders above an output are made, as embed and eval make theirs.
    const made = path.join(out, 'new', 'folders', 'net.pt');
    const exported = await sphereMain(['export', '--model', modelFile, '--out', made]);
    expect(exported.code, exported.stderr).to.equal(0);
    expect((await loadModel(modelFile)).arch).to.equal('sphere-cnn4');
    expect((await fs.stat(made)).isFile()).to.equal(true);
  });

  it('refuses, before any work, a folder where no file can be made though access() allows it', async () => {
    // /proc: root passes access(W_OK) there, yet creating a file fails (ENOENT); others are
    // refused by access() itself (EACCES). Neither may fail only at the write, after the work.
    const target = '/proc/net.pt';
    const exported = await sphereMain(['export', '--model', modelFile, '--out', target]);
    expect(exported.code, exported.stderr).to.equal(2);
    expect(exported.stderr).to.match(
      /^sphereface export: --out \/proc\/net\.pt: (cannot write in|files cannot be made in) \/proc \((ENOENT|EACCES)\)$/,
    );
    const embed = await sphereMain(['embed', '--model', modelFile, '--out', '/proc/e', image]);
    expect([embed.code, embed.stderr]).to.deep.equal([
      2,
      exported.stderr.replace(/export: --out \/proc\/net\.pt/, 'embed: --out /proc/e.npy'),
    ]);
    const why = exported.stderr.split(': ').at(-1);
    const faces = await tinyFaces();
    for (const [command, args] of [
      ['train', ['--data', faces.trainDir]],
      ['eval', ['--model', modelFile, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile]],
    ] as const) {
      const r = await sphereMain([command, ...args, '--out', '/proc/run']);
      expect([r.code, r.stderr]).to.deep.equal([
        2,
        `sphereface ${command}: --out /proc/run: ${why}`,
      ]);
    }
    // The probe that found it writable elsewhere is gone.
    const dir = path.join(out, 'probed');
    await fs.mkdir(dir);
    expect(
      (await sphereMain(['export', '--model', modelFile, '--out', path.join(dir, 'n.pt')])).code,
    ).to.equal(0);
    expect(await fs.readdir(dir)).to.deep.equal(['n.pt']);
  });

  it('refuses an output that is a FIFO (or a device), which the write would replace', async () => {
    const dir = path.join(out, 'specials');
    await fs.mkdir(dir);
    const fifo = path.join(dir, 'pipe.pt');
    execFileSync('mkfifo', [fifo, path.join(dir, 'e.npy')]);
    const exported = await sphereMain(['export', '--model', modelFile, '--out', fifo]);
    expect([exported.code, exported.stderr]).to.deep.equal([
      2,
      `sphereface export: --out ${fifo} is a FIFO, not a regular file`,
    ]);
    const prefix = path.join(dir, 'e');
    const embed = await sphereMain(['embed', '--model', modelFile, '--out', prefix, image]);
    expect([embed.code, embed.stderr]).to.deep.equal([
      2,
      `sphereface embed: --out ${prefix}.npy is a FIFO, not a regular file`,
    ]);
    for (const name of ['pipe.pt', 'e.npy']) {
      expect((await fs.lstat(path.join(dir, name))).isFIFO(), name).to.equal(true);
    }
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['e.npy', 'pipe.pt']);
  });

  it('refuses, before reading the data, a train --out that another live run holds (its train.lock)', async () => {
    const faces = await tinyFaces();
    const dir = path.join(out, 'busy');
    await fs.mkdir(dir);
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const lock = path.join(dir, 'train.lock');
      await fs.writeFile(lock, String(other.pid));
      for (const extra of [[], ['--force']]) {
        const args = ['train', '--data', faces.trainDir, '--out', dir, ...extra];
        const r = await sphereMain(args);
        expect([r.code, r.stderr], extra.join(' ')).to.deep.equal([
          2,
          `sphereface train: --out ${dir} is in use by the training run of process ${other.pid} ` +
            `(${lock}); wait for it, or choose another --out`,
        ]);
        expect(r.stdout, 'refused before the data are read').to.equal('');
      }
      expect(await fs.readdir(dir)).to.deep.equal(['train.lock']);
    } finally {
      other.kill();
    }
  });

  it("the writers themselves refuse a folder (the library's model.save and exportStateDict)", async () => {
    const dir = path.join(out, 'library');
    await folderOfWork(dir);
    const model = await loadModel(modelFile);
    try {
      for (const write of [() => model.save(dir), () => model.exportStateDict(dir)]) {
        let message = '';
        await write().catch((e: Error) => (message = e.message));
        expect(message).to.contain(`${dir} is a directory`);
      }
    } finally {
      model.dispose();
    }
    await expectWorkKept(dir);
    expect(await fs.readdir(out)).to.not.satisfy((names: string[]) =>
      names.some((n) => n.endsWith('.tmp')),
    );
  });

  it('refuses an output that is the input, by path, symbolic link or hard link', async () => {
    const dir = path.join(out, 'same');
    await fs.mkdir(dir);
    const symlink = path.join(dir, 'link.sfm');
    const hardlink = path.join(dir, 'hard.sfm');
    await fs.symlink(modelFile, symlink);
    await fs.link(modelFile, hardlink);
    const roundabout = path.join(dir, '..', 'model.sfm');
    for (const target of [modelFile, roundabout, symlink, hardlink]) {
      const exported = await sphereMain(['export', '--model', modelFile, '--out', target]);
      expect(exported.code, target).to.equal(2);
      expect(exported.stderr).to.contain('--out is the same file as --model');
    }
    const faces = await tinyFaces();
    const built = await sphereMain([
      'gallery',
      'build',
      '--model',
      symlink,
      '--root',
      faces.lfwDir,
      '--gallery',
      modelFile,
    ]);
    expect(built.code).to.equal(2);
    expect(built.stderr).to.contain('--gallery is the same file as --model');
    expect(await fs.readFile(modelFile), 'the model file untouched').to.deep.equal(modelBytes);
    expect((await fs.lstat(symlink)).isSymbolicLink()).to.equal(true);

    const net = path.join(dir, 'net.pt');
    expect((await sphereMain(['export', '--model', modelFile, '--out', net])).code).to.equal(0);
    const netBytes = await fs.readFile(net);
    const imported = await sphereMain([
      'import',
      '--state-dict',
      net,
      '--arch',
      'sphere-cnn4',
      '--out',
      net,
    ]);
    expect(imported.code).to.equal(2);
    expect(imported.stderr).to.contain('--out is the same file as --state-dict');
    expect(await fs.readFile(net)).to.deep.equal(netBytes);

    const list = path.join(dir, 'images.json');
    await fs.writeFile(list, `${image}\n`);
    const embed = await sphereMain([
      'embed',
      '--model',
      modelFile,
      '--list',
      list,
      '--out',
      path.join(dir, 'images'),
    ]);
    expect(embed.code).to.equal(2);
    expect(embed.stderr).to.contain('--out is the same file as --list');
    // An image to embed named like the output (a photo saved as .npy) is an input too.
    const photo = path.join(dir, 'photo.npy');
    await fs.copyFile(image, photo);
    const overPhoto = await sphereMain([
      'embed',
      '--model',
      modelFile,
      '--out',
      path.join(dir, 'photo'),
      photo,
    ]);
    expect(overPhoto.code).to.equal(2);
    expect(overPhoto.stderr).to.contain(`--out is the same file as an image to embed (${photo})`);
    expect(await fs.readFile(photo)).to.deep.equal(await fs.readFile(image));
    expect(await fs.readFile(list, 'utf8')).to.equal(`${image}\n`);
    expect(await fs.readdir(dir)).to.not.include('images.npy');
  });
});

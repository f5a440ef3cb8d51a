// A read-only file system (a tmpfs remounted read-only) where outputs go: the errors give the
// real reason, EROFS, where Node's recursive mkdir would say ENOENT, and nothing is written.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeFolder, whyUnwritable } from '../../lib/util/make-folder';
import { savedModel, sphereMain, tinyFaces } from '../cli/cli-helpers';
import { rejection } from '../rejection';
import { tmpfsOrSkip, type Tmpfs } from '../tmpfs';

describe('a read-only file system', function () {
  this.timeout(120_000);
  let disk: Tmpfs | undefined;

  before(async function () {
    disk = tmpfsOrSkip(this, 48 << 20); // room for a sphere-cnn4 model file (32 MB)
    fs.mkdirSync(path.join(disk.dir, 'runs'));
    fs.mkdirSync(path.join(disk.dir, 'models'));
    await savedModel(path.join(disk.dir, 'models', 'm.sfm'));
    disk.makeReadOnly();
  });
  after(() => disk?.unmount());

  it('is named in makeFolder and whyUnwritable', async () => {
    const dir = disk!.dir;
    const deep = path.join(dir, 'runs', 'a', 'b');
    expect((await rejection(makeFolder(deep, 'the out folder'))).message).to.equal(
      `cannot create the out folder ${deep}: EROFS: read-only file system, mkdir '${path.join(dir, 'runs', 'a')}'`,
    );
    expect(await whyUnwritable(path.join(dir, 'runs', 'x.npy'))).to.equal(
      `cannot write in ${path.join(dir, 'runs')} (EROFS)`,
    );
    expect(await whyUnwritable(deep)).to.equal(`cannot write in ${path.join(dir, 'runs')} (EROFS)`);
  });

  it('is named by the CLI before any work, and nothing is written', async () => {
    const out = path.join(disk!.dir, 'runs', 'set');
    const r = await sphereMain([
      'synth',
      '--out',
      out,
      '--identities',
      '1',
      '--images',
      '1',
      '--held-out-identities',
      '2',
      '--held-out-images',
      '2',
      '--folds',
      '1',
      '--pairs-per-fold',
      '1',
    ]);
    // A usage error, as for the other commands' --out.
    expect([r.code, r.stderr]).to.deep.equal([
      2,
      `sphereface synth: --out ${out}: cannot write in ${path.dirname(out)} (EROFS)`,
    ]);
    expect(fs.readdirSync(path.join(disk!.dir, 'runs'))).to.deep.equal([]);
  });

  it('refuses eval --save-threshold into a model file there before evaluating', async () => {
    const faces = await tinyFaces();
    const model = path.join(disk!.dir, 'models', 'm.sfm');
    const r = await sphereMain([
      ...['eval', '--model', model, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
      '--save-threshold',
    ]);
    expect([r.code, r.stderr]).to.deep.equal([
      2,
      `sphereface eval: --save-threshold: cannot write in ${path.dirname(model)} (EROFS)`,
    ]);
  });
});

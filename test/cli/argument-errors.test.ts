// Errors the random-argument property test found, kept as plain cases: each is one line that
// says what to do, with exit code 2 for bad usage and 1 for a failure.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { sphereMain, sphereface, tempDir, tinyFaces } from './cli-helpers';

describe('argument errors', () => {
  it('an option whose value is missing before another option says how to give it', async () => {
    const r = await sphereMain(['train', '--data', 'x', '--scale', '--lambda-gamma', '0.1']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(
      "sphereface train: '--scale' takes a value but the next argument starts with '-'; give it " +
        "as '--scale=VALUE'. Run `sphereface train --help` for its options.",
    );
  });

  it("a margin outside the head's range is a usage error naming --m, before any data is read", async () => {
    for (const [head, m, range] of [
      ['arc', '5', '[0, pi)'],
      ['cos', '2.5', '[0, 2)'],
    ]) {
      const r = await sphereMain(['train', '--data', '/nonexistent', '--head', head, '--m', m]);
      expect([r.code, r.stderr], head).to.deep.equal([
        2,
        `sphereface train: Expected a number in ${range} for --m but received ${m}`,
      ]);
    }
  });

  it('a momentum of 1 or more, or a cosine that would rise, is a usage error', async () => {
    const train = ['train', '--data', '/nonexistent'];
    const momentum = await sphereMain([...train, '--momentum', '1']);
    expect([momentum.code, momentum.stderr]).to.deep.equal([
      2,
      'sphereface train: --momentum expects a number in [0, 1) but received 1',
    ]);
    const rising = await sphereMain([
      ...train,
      ...['--schedule', 'cosine', '--lr', '0.1', '--min-lr', '1'],
    ]);
    expect([rising.code, rising.stderr]).to.deep.equal([
      2,
      'sphereface train: --min-lr 1 is above --lr 0.1: the cosine would rise',
    ]);
  });

  it('held-out flags without --lfw are refused, not ignored', async () => {
    for (const flag of ['--eval-every', '--lfw-landmarks']) {
      const r = await sphereMain(['train', '--data', '/nonexistent', flag, '2']);
      expect([r.code, r.stderr]).to.deep.equal([
        2,
        `sphereface train: ${flag} applies to the held-out pairs: give --lfw and --pairs`,
      ]);
    }
  });

  it('landmarks for a net that takes whole images are refused, not ignored', async () => {
    for (const flag of ['--landmarks', '--lfw-landmarks']) {
      const r = await sphereMain([
        ...['train', '--data', '/nonexistent', '--arch', 'sphere-cnn4', flag, 'marks.txt'],
        ...['--lfw', '/nonexistent', '--pairs', 'pairs.txt'],
      ]);
      expect([r.code, r.stderr]).to.deep.equal([
        2,
        `sphereface train: ${flag}: landmarks and boxes align faces for the 112x96 nets; this ` +
          'model takes 96x96 whole images (resized and centre-cropped), as it was trained',
      ]);
    }
  });

  it("embed --list names a missing image's line, a link loop, and a list of no images as such", async () => {
    const dir = await tempDir();
    const list = path.join(dir, 'images.txt');
    await fs.writeFile(list, '# photos\n\nmissing.jpg\n');
    const embed = (extra: string[]) =>
      sphereMain(['embed', '--model', 'm.sfm', '--out', path.join(dir, 'e'), ...extra]);
    const missing = await embed(['--list', list]);
    expect([missing.code, missing.stderr]).to.deep.equal([
      1,
      `sphereface embed: image ${path.join(dir, 'missing.jpg')} does not exist (${list}:3)`,
    ]);
    // A loop of symbolic links is there, but leads nowhere: said so, not "does not exist".
    const loop = path.join(dir, 'loop1.jpg');
    await fs.symlink('loop2.jpg', loop);
    await fs.symlink('loop1.jpg', path.join(dir, 'loop2.jpg'));
    const looped = await embed([loop]);
    expect([looped.code, looped.stderr]).to.deep.equal([
      1,
      `sphereface embed: image ${loop} is a loop of symbolic links (ELOOP) (an argument)`,
    ]);
    const verified = await sphereMain(['verify', '--model', loop, '--threshold', '0.5', 'a', 'b']);
    expect(verified.stderr).to.equal(
      `sphereface verify: model file ${loop} is a loop of symbolic links (ELOOP)`,
    );
    await fs.writeFile(list, `${dir}\n`);
    const folder = await embed(['--list', list]);
    expect([folder.code, folder.stderr]).to.deep.equal([
      1,
      `sphereface embed: image ${dir} is a directory, not an image (${list}:1)`,
    ]);
    // verify and gallery search say it alike, before the model loads (the list file stands in
    // for a model: it is never read).
    const comparing = await sphereMain(['verify', '--model', list, '--threshold', '0.5', dir, dir]);
    const search = (image: string) =>
      sphereMain(['gallery', 'search', '--model', list, '--gallery', list, image]);
    const searching = await search(dir);
    for (const [command, result] of [
      ['verify', comparing],
      ['gallery', searching],
    ] as const) {
      expect([result.code, result.stderr]).to.deep.equal([
        1,
        `sphereface ${command}: image ${dir} is a directory, not an image (an argument)`,
      ]);
    }
    const absent = path.join(dir, 'absent.jpg');
    const missingProbe = await search(absent);
    expect(missingProbe.stderr).to.equal(
      `sphereface gallery: image ${absent} does not exist (an argument)`,
    );
    await fs.writeFile(list, '# nothing yet\n');
    const empty = await embed(['--list', list]);
    expect([empty.code, empty.stderr]).to.deep.equal([
      2,
      `sphereface embed: --list ${list} lists no images (one path a line; # comments)`,
    ]);
    await fs.rm(dir, { recursive: true });
  });

  it('training data of one identity is named as such', async () => {
    const faces = await tinyFaces();
    const data = await tempDir();
    const [first] = (await fs.readdir(faces.trainDir)).sort();
    await fs.cp(path.join(faces.trainDir, first), path.join(data, first), { recursive: true });
    const out = await tempDir();
    const r = await sphereMain(['train', '--data', data, '--arch', 'sphere-cnn4', '--out', out]);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split('\n').at(-1)).to.equal(
      `sphereface train: training data ${data} holds 1 identity; a classifier needs at least 2`,
    );
  });

  it('--out naming a file is a usage error naming it', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'model.sfm');
    await fs.writeFile(file, 'x');
    for (const extra of [[], ['--resume'], ['--force']]) {
      const r = await sphereMain(['train', '--data', dir, '--out', file, ...extra]);
      expect(r.code, extra.join(' ')).to.equal(2);
      expect(r.stderr).to.equal(`sphereface train: --out ${file} is a file, not a folder`);
    }
  });

  it('verify refuses a threshold no cosine similarity can cross', async () => {
    for (const t of ['1.5', '-2']) {
      const r = await sphereMain([
        'verify',
        '--model',
        'm.sfm',
        `--threshold=${t}`,
        'a.jpg',
        'b.jpg',
      ]);
      expect([r.code, r.stderr]).to.deep.equal([
        2,
        `sphereface verify: Expected a cosine similarity in -1..1 for --threshold but received ${Number(t)}: past them every pair would get one verdict`,
      ]);
    }
    // Nor one from a summary (a hand-edited one: evaluations choose theirs within -1..1).
    const summary = path.join(await tempDir(), 'summary.json');
    await fs.writeFile(summary, JSON.stringify({ evaluation: { threshold: 1.25 } }));
    const r = await sphereMain(['verify', '--model', 'm.sfm', '--summary', summary, 'a', 'b']);
    expect([r.code, r.stderr]).to.deep.equal([
      1,
      `sphereface verify: Expected a cosine similarity in -1..1 for ${summary}'s evaluation.threshold but received 1.25: past them every pair would get one verdict`,
    ]);
  });

  it('verify refuses an empty image argument and a summary without a threshold', async () => {
    const dir = await tempDir();
    const empty = await sphereMain(['verify', '--model', 'm.sfm', '--', '', 'b.jpg']);
    expect(empty.code).to.equal(2);
    expect(empty.stderr).to.equal('sphereface verify: expected two image files but one is empty');
    const summary = path.join(dir, 'summary.json');
    await fs.writeFile(summary, 'null');
    const none = await sphereMain(['verify', '--model', 'm.sfm', '--summary', summary, 'a', 'b']);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.equal(`sphereface verify: ${summary} has no evaluation.threshold`);
    await fs.writeFile(summary, 'notanimage\n');
    const text = await sphereMain(['verify', '--model', 'm.sfm', '--summary', summary, 'a', 'b']);
    expect([text.code, text.stderr]).to.deep.equal([
      1,
      `sphereface verify: ${summary} is not JSON: give the summary.json an eval, train or demo wrote`,
    ]);
  });

  it('train says what the scan of the training folder left out', async () => {
    const faces = await tinyFaces();
    const data = await tempDir();
    await fs.cp(faces.trainDir, data, { recursive: true });
    const [first] = (await fs.readdir(data)).sort();
    await fs.symlink('..', path.join(data, first, 'up'));
    execFileSync('mkfifo', [path.join(data, first, 'pipe.jpg')]);
    const out = await tempDir();
    const r = await sphereface([
      'train',
      '--data',
      data,
      '--arch',
      'sphere-cnn4',
      '--batch-size',
      '8',
      '--iterations',
      '1',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(
      `left out 2 entries of ${data} (the first: ${path.join(data, first, 'pipe.jpg')}: a FIFO, not a regular file)`,
    );
    expect(r.stdout).to.contain('24 training images of 6 identities');
  });
});

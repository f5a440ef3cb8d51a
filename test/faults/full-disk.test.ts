// A full disk (a small tmpfs) while a checkpoint, the image cache, an image store, the metrics log
// or a report is written: the write fails with an error naming the file and ENOSPC, what was there before is
// left byte for byte, no temporary is left behind, and a run resumes from its last checkpoint
// to the same result as a run that never met a full disk.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadImages } from '../../lib/data/load-images';
import type { ImageStore } from '../../lib/data/store/image-store';
import { prepareImageStore } from '../../lib/data/store/prepare-image-store';
import { Resize } from '../../lib/data/transforms/resize';
import { createModel, loadModel } from '../../lib/models/model';
import { writeReport } from '../../lib/report/write-report';
import { latestCheckpoint, listCheckpoints, writeCheckpoint } from '../../lib/train/checkpoint';
import { Trainer } from '../../lib/train/trainer';
import { gradient, tempDir, writeImage } from '../data/helpers';
import { tmpfsOrSkip } from '../tmpfs';
import { checkpointStateOf, FakeBatchSource, FakeModel, loadFakeModel } from '../train/fakes';
import { rejection } from '../rejection';

/** Every file under `dir` with its bytes, for before/after comparisons. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const full = path.join(e.parentPath, e.name);
    if (e.isFile()) out.set(path.relative(dir, full), fs.readFileSync(full));
  }
  return out;
}

function tempsUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /\.tmp$/.test(f) || /(^|\/)\.[^/]+\.\d+\.\d+\.tmp/.test(f));
}

describe('a full disk', function () {
  this.timeout(300_000);

  it('during a checkpoint of a real model leaves the previous checkpoint intact and loadable', async function () {
    const model = await createModel({
      arch: 'sphere-cnn4',
      classes: 3,
      head: { kind: 'sphere', m: 4 },
      seed: 1,
    });
    const probe = path.join(tempDir(), 'probe.sfm');
    await model.save(probe);
    const modelBytes = fs.statSync(probe).size;
    // Room for one checkpoint and a half: the second runs out of space while being written.
    const disk = tmpfsOrSkip(this, Math.ceil((1.5 * modelBytes) / 4096) * 4096);
    try {
      const root = path.join(disk.dir, 'checkpoints');
      const first = await writeCheckpoint(root, model, checkpointStateOf(model, 1), 3);
      const before = snapshot(root);
      const error = await rejection(writeCheckpoint(root, model, checkpointStateOf(model, 2), 3));
      expect(error.message).to.match(/ENOSPC|no space/i);
      expect(error.message).to.contain(root);
      expect(snapshot(root)).to.deep.equal(before);
      expect(await listCheckpoints(root)).to.deep.equal([first.dir]);
      expect(tempsUnder(root)).to.deep.equal([]);
      const latest = await latestCheckpoint(root);
      expect(latest?.state.iteration).to.equal(1);
      const loaded = await loadModel(latest!.modelPath);
      loaded.dispose();
    } finally {
      model.dispose();
      disk.unmount();
    }
  });

  it('stops a Trainer with the error; its last checkpoint resumes to the result of an unhindered run', async function () {
    const options = { epochs: 3, optimizer: { lr: 0.3 }, schedule: { kind: 'cosine' } as const };
    const reference = new FakeModel(4);
    await new Trainer({ model: reference, data: new FakeBatchSource(4, 5), ...options }).fit();

    const disk = tmpfsOrSkip(this, 1 << 20);
    try {
      const out = path.join(disk.dir, 'run');
      const trainer = new Trainer({
        model: new FakeModel(4),
        data: new FakeBatchSource(4, 5),
        outDir: out,
        checkpointEvery: { iterations: 4 },
        ...options,
      });
      // The disk fills up right after the first checkpoint.
      let filled = false;
      trainer.on('checkpoint', () => {
        if (!filled) disk.fillLeaving(0);
        filled = true;
      });
      const error = await rejection(trainer.fit());
      expect(error.message).to.match(/ENOSPC|no space/i);
      expect(error.message).to.contain(out);
      const checkpoints = path.join(out, 'checkpoints');
      expect((await listCheckpoints(checkpoints)).map((d) => path.basename(d))).to.deep.equal([
        'iter-00000004',
      ]);
      expect(tempsUnder(out)).to.deep.equal([]);

      fs.rmSync(path.join(disk.dir, 'filler'));
      const checkpoint = (await latestCheckpoint(checkpoints))!;
      const resumed = await loadFakeModel(checkpoint.modelPath);
      const rest = await new Trainer({
        model: resumed,
        data: new FakeBatchSource(4, 5),
        outDir: out,
        checkpointEvery: { iterations: 4 },
        resume: checkpoint,
        ...options,
      }).fit();
      expect(rest.iterations).to.equal(15);
      expect(Array.from(resumed.weights)).to.deep.equal(Array.from(reference.weights));
    } finally {
      disk.unmount();
    }
  });

  it('while the image cache is written leaves the older cache as it was', async function () {
    const src = tempDir();
    const paths: string[] = [];
    for (let i = 0; i < 6; i++) paths.push(await writeImage(path.join(src, `${i}.png`), 24, 24));
    const disk = tmpfsOrSkip(this, 64 << 10);
    try {
      const cacheDir = path.join(disk.dir, 'cache');
      const small = await loadImages(paths.slice(0, 2), {
        transforms: [new Resize([8, 8])],
        cacheDir,
      });
      const before = snapshot(cacheDir);
      disk.fillLeaving(8 << 10);
      // 6 images of 48 x 48 x 3 need more than the 8 KB left.
      const error = await rejection(
        loadImages(paths, { transforms: [new Resize([48, 48])], cacheDir }),
      );
      expect(error.message).to.match(/ImageCache: cannot write .*\.sfcache: .*(ENOSPC|no space)/i);
      expect(snapshot(cacheDir)).to.deep.equal(before);
      expect(tempsUnder(cacheDir)).to.deep.equal([]);
      const again = await loadImages(paths.slice(0, 2), {
        transforms: [new Resize([8, 8])],
        cacheDir,
      });
      expect(again.fromCache).to.equal(true);
      expect(Buffer.from(again.images).equals(Buffer.from(small.images))).to.equal(true);
    } finally {
      disk.unmount();
    }
  });

  it('while an image store is prepared: names the file, leaves no temporary, and prepare then resumes to the same store', async function () {
    const src = tempDir();
    for (let i = 0; i < 8; i++) {
      await writeImage(path.join(src, `id${i % 2}`, `${i}.png`), 24, 24, (x, y) =>
        gradient(x + 3 * i, y),
      );
    }
    const options = { source: src, transforms: [new Resize([16, 16])], imagesPerShard: 2 };
    const all = async (store: ImageStore) => {
      const bytes = Buffer.from(await store.read([0, 1, 2, 3, 4, 5, 6, 7]));
      store.close();
      return bytes;
    };
    const expected = await all(
      await prepareImageStore({ ...options, out: path.join(tempDir(), 'store') }),
    );
    const disk = tmpfsOrSkip(this, 1 << 20);
    try {
      const out = path.join(disk.dir, 'store');
      fs.mkdirSync(out);
      // Room for a few pages: the lock, a shard or two and the manifest, not all four shards.
      disk.fillLeaving(3 * 4096);
      const error = await rejection(prepareImageStore({ ...options, out }));
      expect(error.message).to.match(/(ENOSPC|no space)/i);
      expect(error.message).to.contain(out);
      expect(tempsUnder(out)).to.deep.equal([]);
      expect(fs.existsSync(path.join(out, 'prepare.lock')), 'the lock is released').to.equal(false);
      fs.rmSync(path.join(disk.dir, 'filler'));
      const resumed = await prepareImageStore({ ...options, out });
      // The shard that was complete before the disk filled is kept, the rest built.
      expect(resumed.preparation!.resumedShards).to.be.at.least(1);
      expect(resumed.preparation!.resumedShards + resumed.preparation!.builtShards).to.equal(4);
      expect((await all(resumed)).equals(expected)).to.equal(true);
    } finally {
      disk.unmount();
    }
  });

  it('while a report is written leaves the previous report as it was', async function () {
    const disk = tmpfsOrSkip(this, 1 << 20);
    try {
      const out = path.join(disk.dir, 'report');
      const epochs = [1, 2].map((epoch) => ({
        epoch,
        trainLoss: 3 - epoch,
        trainAccuracy: 0.1 * epoch,
      }));
      await writeReport(out, { summary: { run: 1 }, epochs });
      const before = snapshot(out);
      disk.fillLeaving(0);
      const error = await rejection(
        writeReport(out, { summary: { run: 2, notes: 'x'.repeat(20000) }, epochs }),
      );
      expect(error.message).to.match(/Could not write .*(ENOSPC|no space)/i);
      expect(error.message).to.contain(out);
      expect(snapshot(out)).to.deep.equal(before);
      expect(tempsUnder(out)).to.deep.equal([]);
    } finally {
      disk.unmount();
    }
  });
});

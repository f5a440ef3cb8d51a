// Special files in an image store and its source: a FIFO as the manifest, the labels, a shard or
// the lock is refused by name or replaced, at once (opened for reading, it would block forever),
// and what the source folder's scan left out is reported.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DecodePool } from '../../../lib/data/decode-pool';
import { openImageStore, type ImageStore } from '../../../lib/data/store/image-store';
import { prepareImageStore, type PrepareEvent } from '../../../lib/data/store/prepare-image-store';
import { Resize } from '../../../lib/data/transforms/resize';
import { fifo, gradient, refusedQuickly, tempDir, writeImage } from '../helpers';

const IMAGE_BYTES = 6 * 5 * 3;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Two identity folders of three PNGs each. */
async function faces(): Promise<string> {
  const root = tempDir('sphereface-store-src-');
  for (let k = 0; k < 6; k++) {
    const file = path.join(root, `id${k % 2}`, `${k}.png`);
    await writeImage(file, 9 + k, 8, (x, y) => gradient(x + 5 * k, y));
  }
  return root;
}

async function allImages(store: ImageStore): Promise<Buffer> {
  return Buffer.from(await store.read(Array.from({ length: store.n }, (_, i) => i)));
}

describe('special files in an image store', function () {
  let pool: DecodePool;
  before(() => {
    pool = new DecodePool({ threads: 1 });
  });
  after(() => pool.close());

  const prepare = (source: string, out: string, onProgress?: (e: PrepareEvent) => void) =>
    prepareImageStore({
      source,
      out,
      transforms: [new Resize([6, 5])],
      imagesPerShard: 2,
      pool,
      onProgress,
    });

  it("reports what the source folder's scan left out, and stores the rest", async () => {
    const root = await faces();
    const pipe = fifo(path.join(root, 'id0', 'pipe.jpg'));
    fs.symlinkSync('..', path.join(root, 'id1', 'up'));
    const events: PrepareEvent[] = [];
    const out = path.join(tempDir(), 'store');
    const store = await prepare(root, out, (e) => events.push(e));
    const leftOut = events.filter((e) => e.type === 'left-out');
    expect(leftOut).to.have.length(1);
    expect(leftOut[0]).to.deep.include({ location: root });
    const entries = leftOut[0].type === 'left-out' ? leftOut[0].entries : [];
    expect(entries.map((e) => e.path)).to.deep.equal([pipe, path.join(root, 'id1', 'up')]);
    expect(entries[0].reason).to.equal('a FIFO, not a regular file');
    expect(store.n).to.equal(6);
    // The store records them too: in its manifest, read back by a later open.
    expect(store.leftOut).to.deep.equal(entries);
    store.close();
    const reopened = await openImageStore(out);
    expect(reopened.leftOut).to.deep.equal(entries);
    reopened.close();
    // A complete store kept as it is records what a later scan leaves out.
    fs.rmSync(pipe);
    const kept = await prepare(root, out);
    expect(kept.preparation!.reused).to.equal(true);
    expect(kept.leftOut.map((e) => e.path)).to.deep.equal([path.join(root, 'id1', 'up')]);
    kept.close();
    const again = await openImageStore(out);
    expect(again.leftOut).to.deep.equal(kept.leftOut);
    again.close();
  });

  it('refuses a FIFO as a shard, the labels or the manifest by name; prepare rebuilds the shard', async () => {
    const root = await faces();
    const out = path.join(tempDir(), 'store');
    const first = await prepare(root, out);
    const original = await allImages(first);
    first.close();

    const shard = path.join(out, 'shard-00001.bin');
    fs.rmSync(shard);
    fifo(shard);
    await refusedQuickly(
      () => openImageStore(out),
      /shard .*shard-00001\.bin is damaged: a FIFO, not a regular file; run prepare again/,
    );
    const repaired = await prepare(root, out);
    expect(repaired.preparation!.rebuilt.map((p) => [p.shard, p.reason])).to.deep.equal([
      [1, 'not a regular file'],
    ]);
    expect((await allImages(repaired)).equals(original)).to.equal(true);
    repaired.close();

    const labels = path.join(out, 'labels.bin');
    const labelBytes = fs.readFileSync(labels);
    fs.rmSync(labels);
    fifo(labels);
    await refusedQuickly(
      () => openImageStore(out),
      /image store .*: labels file .*labels\.bin is a FIFO, not a regular file/,
    );
    // Larger than the manifest declares: refused before it is read.
    fs.rmSync(labels);
    fs.writeFileSync(labels, Buffer.concat([labelBytes, Buffer.alloc(4)]));
    await refusedQuickly(
      () => openImageStore(out),
      new RegExp(`labels\\.bin is ${6 * 4 + 4} bytes; expected at most ${6 * 4}`),
    );
    fs.writeFileSync(labels, labelBytes);
    expect(fs.statSync(shard).size).to.equal(2 * IMAGE_BYTES);

    const manifest = path.join(out, 'manifest.json');
    fs.rmSync(manifest);
    fifo(manifest);
    await refusedQuickly(
      () => openImageStore(out),
      /image store manifest .*manifest\.json is a FIFO, not a regular file/,
    );
  });

  it('refuses a shard swapped for a FIFO after the store was opened, at once and by name', async () => {
    const root = await faces();
    const out = path.join(tempDir(), 'store');
    const prepared = await prepare(root, out);
    const expected = await allImages(prepared);
    prepared.close();
    const store = await openImageStore(out); // the shards are checked here
    // Shard 0 is opened by this read; shard 1 by the first read that needs it.
    const first = Buffer.from(await store.read([0, 1]));
    expect(first.equals(expected.subarray(0, 2 * IMAGE_BYTES))).to.equal(true);
    const shard = path.join(out, 'shard-00001.bin');
    fs.rmSync(shard);
    fifo(shard);
    const reading = store.read([0, 2]);
    try {
      await refusedQuickly(
        () => reading,
        new RegExp(`cannot open shard ${escapeRegExp(shard)}: it is a FIFO, not a regular file`),
      );
      // The reader stays usable for the shards that are there.
      const last = await store.read([4, 5]);
      expect(Buffer.from(last).equals(expected.subarray(4 * IMAGE_BYTES))).to.equal(true);
    } finally {
      // A read left blocked on the FIFO (the failure this test catches) gets its end of file, and
      // settles before the store closes.
      try {
        fs.closeSync(fs.openSync(shard, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
      } catch {
        // ENXIO: nobody is reading it.
      }
      await reading.catch(() => undefined);
      store.close();
    }
  });

  it('takes over a FIFO left as the lock instead of waiting on it', async () => {
    const root = await faces();
    const out = path.join(tempDir(), 'store');
    fifo(path.join(out, 'prepare.lock'));
    const store = await Promise.race([
      prepare(root, out),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('still waiting after 20 s')), 20_000).unref(),
      ),
    ]);
    expect(store.n).to.equal(6);
    store.close();
    expect(fs.existsSync(path.join(out, 'prepare.lock'))).to.equal(false);
  });
});

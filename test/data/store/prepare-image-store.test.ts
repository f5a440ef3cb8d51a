import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DecodePool } from '../../../lib/data/decode-pool';
import { ImageFolderDataset } from '../../../lib/data/image-folder-dataset';
import { LandmarksFile } from '../../../lib/data/landmarks-file';
import { loadImages } from '../../../lib/data/load-images';
import { openImageStore, type ImageStore } from '../../../lib/data/store/image-store';
import { listSource } from '../../../lib/data/store/list-source';
import {
  prepareImageStore,
  type PrepareEvent,
  type PrepareImageStoreOptions,
} from '../../../lib/data/store/prepare-image-store';
import { CenterCrop } from '../../../lib/data/transforms/center-crop';
import { FaceAlign } from '../../../lib/data/transforms/face-align';
import { Resize } from '../../../lib/data/transforms/resize';
import { expectReject, gradient, tempDir, writeImage } from '../helpers';
import { rejection } from '../../rejection';

/** A pool that fails the test if anything asks it to decode. */
class NoDecodePool extends DecodePool {
  override run(): Promise<void> {
    return Promise.reject(new Error('decoded although the store should have answered'));
  }
}

const TRANSFORMS = [new Resize(12), new CenterCrop([12, 10])];
const IMAGE_BYTES = 12 * 10 * 3;

/** `classes` identity folders of `per` JPEGs each, of varying sizes and content. */
async function faces(classes: number, per: number): Promise<string> {
  const root = tempDir('sphereface-store-src-');
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < per; i++) {
      const k = c * per + i;
      await writeImage(path.join(root, `id${c}`, `${i}.jpg`), 20 + (k % 5), 18 + (k % 3), (x, y) =>
        gradient(x + 7 * k, y + 3 * c),
      );
    }
  }
  return root;
}

function bytesOf(dir: string, name: string): Buffer {
  return fs.readFileSync(path.join(dir, name));
}

async function allImages(store: ImageStore): Promise<Buffer> {
  return Buffer.from(await store.read(Array.from({ length: store.n }, (_, i) => i)));
}

describe('prepareImageStore and openImageStore', function () {
  let pool: DecodePool;
  before(() => {
    pool = new DecodePool({ threads: 2 });
  });
  after(() => pool.close());

  const prepare = (source: string, out: string, extra: Partial<PrepareImageStoreOptions> = {}) =>
    prepareImageStore({ source, out, transforms: TRANSFORMS, imagesPerShard: 4, pool, ...extra });

  it('holds what loadImages decodes, byte for byte, in fixed-size raw shards', async () => {
    const root = await faces(3, 5);
    const out = path.join(tempDir(), 'store');
    const events: PrepareEvent[] = [];
    const store = await prepare(root, out, { onProgress: (e) => events.push(e) });
    const folder = new ImageFolderDataset(root);
    const reference = await loadImages(folder.paths, {
      transforms: TRANSFORMS,
      labels: folder.labels,
      pool,
    });
    expect([store.n, store.height, store.width, store.classes]).to.deep.equal([15, 12, 10, 3]);
    expect(store.classNames).to.deep.equal(['id0', 'id1', 'id2']);
    expect((await allImages(store)).equals(Buffer.from(reference.images))).to.equal(true);
    expect(Array.from(store.labels)).to.deep.equal(Array.from(reference.labels!));
    // The layout: 4 + 4 + 4 + 3 images, each shard the raw images back to back.
    expect(store.shards).to.equal(4);
    for (let k = 0; k < 4; k++) {
      const expected = reference.images.subarray(
        4 * k * IMAGE_BYTES,
        Math.min(15, 4 * k + 4) * IMAGE_BYTES,
      );
      expect(
        bytesOf(out, `shard-0000${k}.bin`).equals(Buffer.from(expected)),
        `shard ${k}`,
      ).to.equal(true);
    }
    const labels = bytesOf(out, 'labels.bin');
    expect(Array.from(new Int32Array(labels.buffer, labels.byteOffset, 15))).to.deep.equal(
      Array.from(reference.labels!),
    );
    const manifest = JSON.parse(bytesOf(out, 'manifest.json').toString()) as Record<
      string,
      unknown
    >;
    expect(manifest).to.include({
      complete: true,
      images: 15,
      height: 12,
      width: 10,
      imagesPerShard: 4,
    });
    expect(fs.readdirSync(out).sort()).to.deep.equal([
      'labels.bin',
      'manifest.json',
      'shard-00000.bin',
      'shard-00001.bin',
      'shard-00002.bin',
      'shard-00003.bin',
    ]);
    expect(
      events.filter((e) => e.type === 'shard').map((e) => e.type === 'shard' && e.images),
    ).to.deep.equal([4, 4, 4, 3]);
    const decoded = events.filter((e) => e.type === 'decode');
    expect(decoded.at(-1)).to.deep.equal({ type: 'decode', done: 15, total: 15 });
    expect(store.preparation).to.include({
      reused: false,
      builtShards: 4,
      decoded: 15,
      resumedShards: 0,
    });
    store.close();

    // Opened again: every shard checked, nothing decoded, the same bytes.
    const reopened = await openImageStore(out);
    expect((await allImages(reopened)).equals(Buffer.from(reference.images))).to.equal(true);
    reopened.close();
    const again = await prepare(root, out, { pool: new NoDecodePool() });
    expect(again.preparation).to.include({ reused: true, decoded: 0, builtShards: 0 });
    again.close();
  });

  it('catches a flipped byte or a cut shard, names it, and rebuilds only that shard', async () => {
    const root = await faces(2, 6);
    const out = path.join(tempDir(), 'store');
    const first = await prepare(root, out);
    const original = await allImages(first);
    first.close();
    const shard1 = path.join(out, 'shard-00001.bin');
    const bytes = fs.readFileSync(shard1);
    bytes[100] ^= 0x10;
    fs.writeFileSync(shard1, bytes);
    fs.truncateSync(path.join(out, 'shard-00002.bin'), 2 * IMAGE_BYTES);
    const untouched = fs.statSync(path.join(out, 'shard-00000.bin')).mtimeMs;

    await expectReject(
      openImageStore(out),
      /shard .*shard-00001\.bin is damaged: CRC-32 [0-9a-f]{8} where [0-9a-f]{8} was written \(and 1 more shards\); run prepare again/,
    );
    // Without the CRC check the size is still checked.
    await expectReject(
      openImageStore(out, { verify: false }),
      /shard-00002\.bin is damaged: 720 bytes where 1440 were written/,
    );

    const events: PrepareEvent[] = [];
    const repaired = await prepare(root, out, { onProgress: (e) => events.push(e) });
    const rebuilt = repaired.preparation!.rebuilt;
    expect(rebuilt.map((p) => [p.shard, path.basename(p.file), p.reason])).to.deep.equal([
      [1, 'shard-00001.bin', 'CRC mismatch'],
      [2, 'shard-00002.bin', 'wrong size'],
    ]);
    expect(events.filter((e) => e.type === 'damaged')).to.have.length(2);
    expect(repaired.preparation).to.include({ decoded: 8, builtShards: 2, reused: false });
    expect((await allImages(repaired)).equals(original)).to.equal(true);
    expect(fs.statSync(path.join(out, 'shard-00000.bin')).mtimeMs).to.equal(untouched);
    repaired.close();
    (await openImageStore(out)).close();

    // A cut labels file: said so, and written again with the same labels.
    const labelsFile = path.join(out, 'labels.bin');
    const labels = fs.readFileSync(labelsFile);
    fs.truncateSync(labelsFile, 5);
    events.length = 0;
    const relabelled = await prepare(root, out, { onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.type === 'damaged-labels')).to.deep.equal([
      {
        type: 'damaged-labels',
        reason: `image store ${out}: ${labelsFile} is damaged (5 bytes for 12 labels, or a CRC mismatch)`,
      },
    ]);
    expect(fs.readFileSync(labelsFile).equals(labels)).to.equal(true);
    relabelled.close();
  });

  it('refuses to discard a complete store of other inputs, naming what differs; starts over when asked', async () => {
    const root = await faces(2, 3);
    const out = path.join(tempDir(), 'store');
    const first = await prepare(root, out);
    const before = await allImages(first);
    first.close();
    const files = () =>
      fs.readdirSync(out).map((name) => [name, bytesOf(out, name).toString('hex')]);
    const kept = files();
    const changed = path.join(root, 'id1', '0.jpg');
    await writeImage(changed, 26, 22, (x, y) => [x * 9, 255 - y * 9, 128]);
    const refused = await rejection(prepare(root, out));
    expect(refused.message).to.equal(
      `${out} holds a complete image store of other inputs (its source files, labels, landmarks, ` +
        'images per shard or pixel limit changed); prepare does not discard a finished store ' +
        "unless told to replace it (replaceOtherStore; the CLI's --replace): remove it, or " +
        'prepare into another folder',
    );
    // Another source, other transforms, another shard size: each named.
    const other = await faces(1, 2);
    const named = await rejection(
      prepare(other, out, { transforms: [new Resize([8, 8])], imagesPerShard: 3 }),
    );
    expect(named.message).to.contain(
      `(made from folder source ${root}, not ${other}; ` +
        `transforms ${JSON.stringify(TRANSFORMS.map((t) => t.spec()))}, ` +
        `now ${JSON.stringify([new Resize([8, 8]).spec()])}; 4 images per shard, now 3)`,
    );
    expect(files(), 'the store untouched').to.deep.equal(kept);

    const again = await prepare(root, out, { replaceOtherStore: true });
    expect(again.preparation!.stale).to.match(
      /inputs changed \(source files, labels, transforms, landmarks, images per shard or pixel limit\)/,
    );
    expect(again.preparation!.decoded).to.equal(6);
    const fresh = await loadImages([changed], { transforms: TRANSFORMS, pool });
    const after = await allImages(again);
    expect(
      after.subarray(3 * IMAGE_BYTES, 4 * IMAGE_BYTES).equals(Buffer.from(fresh.images)),
    ).to.equal(true);
    expect(after.subarray(0, 3 * IMAGE_BYTES).equals(before.subarray(0, 3 * IMAGE_BYTES))).to.equal(
      true,
    );
    again.close();

    // An unfinished store of other inputs was never usable: started over without asking.
    const controller = new AbortController();
    const partial = path.join(tempDir(), 'partial');
    await rejection(
      prepare(root, partial, {
        imagesPerShard: 2,
        signal: controller.signal,
        onProgress: (e) => e.type === 'shard' && controller.abort(),
      }),
    );
    const resized = await prepare(root, partial, { transforms: [new Resize([8, 8])] });
    expect(resized.preparation!.stale).to.match(/inputs changed/);
    expect([resized.height, resized.width]).to.deep.equal([8, 8]);
    resized.close();
  });

  it("refuses a manifest.json or labels.bin that is not a store's, naming it, and repairs a store's own", async () => {
    const root = await faces(1, 2);
    const out = path.join(tempDir(), 'app');
    fs.mkdirSync(out);
    const manifest = path.join(out, 'manifest.json');
    const labels = path.join(out, 'labels.bin');
    fs.writeFileSync(labels, 'important\n');
    const foreign: [string, string][] = [
      ['{"name":"my web app manifest"}\n', 'format is undefined'],
      ['[1, 2]', 'format is undefined'],
      ['{"format":"other"}', 'format is other'],
      ['not JSON', 'not JSON, and no shards beside it'],
    ];
    for (const [text, why] of foreign) {
      fs.writeFileSync(manifest, text);
      const refused = await rejection(prepare(root, out));
      expect(refused.message).to.equal(
        `${manifest} is not an image store's manifest (${why}); prepare would replace it: ` +
          'move it, or prepare into another folder',
      );
      expect(fs.readdirSync(out).sort()).to.deep.equal(['labels.bin', 'manifest.json']);
      expect(bytesOf(out, 'manifest.json').toString()).to.equal(text);
    }
    fs.rmSync(manifest);
    const alone = await rejection(prepare(root, out));
    expect(alone.message).to.equal(
      `${labels} is not an image store's labels (no store manifest or shards beside it); ` +
        'prepare would replace it: move it, or prepare into another folder',
    );
    expect(fs.readdirSync(out)).to.deep.equal(['labels.bin']);
    expect(bytesOf(out, 'labels.bin').toString()).to.equal('important\n');
    fs.rmSync(labels);

    // A store's own manifest, cut short, or garbled beside its shards, is rebuilt by a rerun.
    (await prepare(root, out)).close();
    const whole = bytesOf(out, 'manifest.json');
    for (const text of [whole.subarray(0, 60), Buffer.from('garbled')]) {
      fs.writeFileSync(manifest, text);
      const repaired = await prepare(root, out);
      expect(repaired.preparation!.stale).to.match(/not a valid image store manifest \(bad JSON/);
      repaired.close();
      expect(bytesOf(out, 'manifest.json').equals(whole)).to.equal(true);
    }
  });

  it('resumes a run killed mid-way from its last complete shard, to identical bytes', async () => {
    const root = await faces(4, 6); // 24 images, 12 shards of 2
    const out = path.join(tempDir(), 'killed');
    const child = spawn(
      process.execPath,
      [path.join(__dirname, 'prepare-child.js'), root, out, '2'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let shards = 0;
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_, signal) => resolve(signal)),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      shards += chunk
        .toString()
        .split('\n')
        .filter((l) => l.includes('"shard"')).length;
      if (shards >= 3) child.kill('SIGKILL');
    });
    expect(await exit, stderr).to.equal('SIGKILL');
    const leftover = JSON.parse(bytesOf(out, 'manifest.json').toString()) as {
      complete: boolean;
      shards: unknown[];
    };
    expect(leftover.complete).to.equal(false);
    const kept = leftover.shards.length;
    expect(kept).to.be.within(3, 11);
    // What a kill can leave: a lock of a dead process, perhaps a .tmp shard or an unrecorded one.
    const tmp = `.shard-${String(kept + 1).padStart(5, '0')}.bin.99999.0.tmp`;
    fs.writeFileSync(path.join(out, tmp), 'half a shard');
    fs.writeFileSync(path.join(out, 'notes.txt'), 'not the store: left alone');

    const events: PrepareEvent[] = [];
    const resumed = await prepare(root, out, {
      onProgress: (e) => events.push(e),
      imagesPerShard: 2,
    });
    const done = resumed.preparation!;
    expect(done.stale).to.equal(undefined);
    expect(done.resumedShards).to.equal(kept);
    expect(done.decoded).to.equal(24 - 2 * kept);
    expect(done.removedTemp).to.include(tmp);
    expect(events.find((e) => e.type === 'start')).to.deep.equal({
      type: 'start',
      images: 24,
      done: 2 * kept,
      shards: kept,
    });
    resumed.close();

    const whole = path.join(tempDir(), 'whole');
    (await prepare(root, whole, { imagesPerShard: 2 })).close();
    const names = fs.readdirSync(whole).sort();
    expect(fs.readdirSync(out).sort()).to.deep.equal([...names, 'notes.txt'].sort());
    for (const name of names)
      expect(bytesOf(out, name).equals(bytesOf(whole, name)), name).to.equal(true);
  });

  it('stops at an abort once its finished shards are recorded, and the next run goes on', async () => {
    const root = await faces(4, 6); // 24 images, 12 shards of 2
    const out = path.join(tempDir(), 'aborted');
    const controller = new AbortController();
    let shards = 0;
    const error = await rejection(
      prepare(root, out, {
        imagesPerShard: 2,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'shard' && ++shards === 3) controller.abort();
        },
      }),
    );
    expect(error.name).to.equal('AbortError');
    const manifest = JSON.parse(bytesOf(out, 'manifest.json').toString()) as {
      complete: boolean;
      shards: unknown[];
    };
    expect(manifest.complete).to.equal(false);
    // Every shard written was recorded; the run stopped within a window of the abort.
    expect(manifest.shards.length).to.equal(shards);
    expect(shards).to.be.within(3, 5);
    const others = fs.readdirSync(out).filter((f) => !/^(shard-\d+\.bin|manifest\.json)$/.test(f));
    expect(others, 'no lock or temporary left').to.deep.equal([]);

    // The lock is gone: the next run takes the folder and continues after the recorded shards.
    const resumed = await prepare(root, out, { imagesPerShard: 2 });
    expect(resumed.preparation!.resumedShards).to.equal(shards);
    expect(resumed.preparation!.decoded).to.equal(24 - 2 * shards);
    resumed.close();
    const whole = path.join(tempDir(), 'whole');
    (await prepare(root, whole, { imagesPerShard: 2 })).close();
    for (const name of fs.readdirSync(whole))
      expect(bytesOf(out, name).equals(bytesOf(whole, name)), name).to.equal(true);

    // Aborted before it starts: nothing is made.
    const never = path.join(tempDir(), 'never');
    const early = await rejection(prepare(root, never, { signal: AbortSignal.abort() }));
    expect(early.name).to.equal('AbortError');
    expect(fs.existsSync(never)).to.equal(false);
  });

  it('refuses imagesPerShard making shards over 2 GiB, before touching a store there', async () => {
    const root = await faces(2, 2);
    const out = path.join(tempDir(), 'huge');
    const error = await rejection(prepare(root, out, { imagesPerShard: 10_000_000 }));
    expect(error.message).to.equal(
      'imagesPerShard 10000000 of 12x10 images makes shards of 3.4 GiB, over the 2 GiB a shard ' +
        'may hold: give at most 5965232',
    );
    expect(fs.existsSync(path.join(out, 'manifest.json'))).to.equal(false);
    // A store there already is checked against before anything of it is discarded: with the
    // size fixed by the transforms, and with the store's own size when they are the same.
    (await prepare(root, out)).close();
    const before = fs.readdirSync(out).sort();
    for (const transforms of [TRANSFORMS, [new Resize([12, 10])]]) {
      if (transforms !== TRANSFORMS) {
        (await prepare(root, out, { transforms, replaceOtherStore: true })).close();
      }
      const kept = fs.readdirSync(out).sort();
      const refused = await rejection(
        prepare(root, out, { transforms, imagesPerShard: 1e8, replaceOtherStore: true }),
      );
      expect(refused.message).to.match(/^imagesPerShard 100000000 of \d+x\d+ images makes/);
      expect(fs.readdirSync(out).sort(), 'the store kept').to.deep.equal(kept);
    }
    expect(before).to.include('manifest.json');
  });

  it('skips bad images when asked and names the first otherwise', async () => {
    const root = await faces(2, 3);
    const broken = path.join(root, 'id0', '1.jpg');
    fs.writeFileSync(broken, 'not an image at all');
    const parent = tempDir();
    const out = path.join(parent, 'new', 'store');
    await expectReject(prepare(root, out), /cannot decode .*id0\/1\.jpg: .*onBadImage: 'skip'/);
    // The failed run removes the (empty) folders it made, the given one's parent kept.
    expect(fs.readdirSync(parent)).to.deep.equal([]);
    const events: PrepareEvent[] = [];
    const store = await prepare(root, out, {
      onBadImage: 'skip',
      onProgress: (e) => events.push(e),
    });
    expect(store.n).to.equal(5);
    expect(store.skipped.map((s) => [s.index, s.path])).to.deep.equal([[1, broken]]);
    expect(events.filter((e) => e.type === 'bad-image')).to.have.length(1);
    const folder = new ImageFolderDataset(root);
    const reference = await loadImages(folder.paths, {
      transforms: TRANSFORMS,
      labels: folder.labels,
      onBadImage: 'skip',
      pool,
    });
    expect((await allImages(store)).equals(Buffer.from(reference.images))).to.equal(true);
    expect(Array.from(store.labels)).to.deep.equal([0, 0, 1, 1, 1]);
    store.close();
    await expectReject(
      prepare(root, out),
      /prepared with bad images left out \(the first: .*id0\/1\.jpg/,
    );
  });

  it('refuses images of different sizes, a busy folder, and an empty source, naming them', async () => {
    const root = await faces(1, 2);
    const out = path.join(tempDir(), 'store');
    await expectReject(
      prepare(root, out, { transforms: [] }),
      /id0\/1\.jpg is 19x21 after the transforms but the store's images are 18x20 \(as .*id0\/0\.jpg\); add a Resize/,
    );
    expect(fs.existsSync(out)).to.equal(false); // made by the failed run, removed empty
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'prepare.lock'), String(process.pid));
    await expectReject(prepare(root, out), /is being prepared by this process .*prepare\.lock/);
    // Another live process's lock is named with its pid.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      fs.writeFileSync(path.join(out, 'prepare.lock'), String(other.pid));
      await expectReject(
        prepare(root, out),
        new RegExp(`is being prepared by process ${other.pid} .*prepare\\.lock.*; wait for it`),
      );
    } finally {
      other.kill();
    }
    // A lock left by a process that is gone is taken over.
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']).pid;
    fs.writeFileSync(path.join(out, 'prepare.lock'), String(gone));
    (await prepare(root, out)).close();
    expect(fs.existsSync(path.join(out, 'prepare.lock'))).to.equal(false);
    await expectReject(
      prepare(root, path.join(root, 'id0', 'store')),
      /the store folder .*id0\/store must not be inside the source/,
    );
    const list = path.join(root, 'empty.txt');
    fs.writeFileSync(list, '# nothing\n');
    await expectReject(prepare(list, out), /empty\.txt lists no images/);
  });

  it('prepares a file list with its labels, and aligns faces with a landmark file', async () => {
    const root = await faces(1, 3);
    const list = path.join(root, 'list.txt');
    const points = '10 10 20 10 15 15 11 20 19 20';
    fs.writeFileSync(list, `id0/2.jpg 1 ${points}\nid0/0.jpg 0 ${points}\nid0/1.jpg 1 ${points}\n`);
    const source = listSource(list);
    expect(source.classNames).to.deep.equal(['0', '1']);
    const events: PrepareEvent[] = [];
    const store = await prepareImageStore({
      source,
      out: path.join(tempDir(), 's'),
      transforms: TRANSFORMS,
      pool,
      onProgress: (event) => events.push(event),
    });
    expect(Array.from(store.labels)).to.deep.equal([1, 0, 1]);
    // The list's landmarks, which no transform aligns on, are told once, at the first image.
    expect(events.filter((e) => e.type === 'landmarks-unused')).to.deep.equal([
      {
        type: 'landmarks-unused',
        location: list,
        image: path.join(root, 'id0', '2.jpg'),
        where: `${list}:1`,
      },
    ]);
    const alignedEvents: PrepareEvent[] = [];
    const alignedFromList = await prepareImageStore({
      source: list,
      out: path.join(tempDir(), 'l'),
      transforms: [new FaceAlign()],
      pool,
      onProgress: (event) => alignedEvents.push(event),
    });
    expect(alignedEvents.map((e) => e.type)).to.not.include('landmarks-unused');
    alignedFromList.close();
    const reference = await loadImages(
      ['2', '0', '1'].map((i) => path.join(root, 'id0', `${i}.jpg`)),
      {
        transforms: TRANSFORMS,
        pool,
      },
    );
    expect((await allImages(store)).equals(Buffer.from(reference.images))).to.equal(true);
    store.close();
    // A listed image that cannot be decoded is named with the list's line.
    const missing = path.join(root, 'missing.txt');
    fs.writeFileSync(missing, `id0/0.jpg 0\n# a comment\nid0/9.jpg 1\n`);
    const refused = await rejection(
      prepareImageStore({
        source: missing,
        out: path.join(tempDir(), 'm'),
        transforms: TRANSFORMS,
        pool,
      }),
    );
    expect(refused.message).to.match(
      new RegExp(
        `^cannot decode ${path.join(root, 'id0', '9.jpg')}: .*ENOENT.* \\(${missing}:3\\)`,
      ),
    );

    const landmarks = path.join(root, 'landmarks.txt');
    fs.writeFileSync(landmarks, ['0', '1', '2'].map((i) => `id0/${i}.jpg\t${points}\n`).join(''));
    const aligned = await prepareImageStore({
      source: root,
      out: path.join(tempDir(), 'a'),
      transforms: [new FaceAlign()],
      landmarks,
      pool,
    });
    const folder = new ImageFolderDataset(root);
    const alignedReference = await loadImages(folder.paths, {
      transforms: [new FaceAlign()],
      landmarks: new LandmarksFile(landmarks).forPaths(folder.root, folder.paths),
      pool,
    });
    expect([aligned.height, aligned.width]).to.deep.equal([112, 96]);
    expect((await allImages(aligned)).equals(Buffer.from(alignedReference.images))).to.equal(true);
    aligned.close();
    fs.writeFileSync(landmarks, `id0/0.jpg\t${points}\n`);
    await expectReject(
      prepareImageStore({
        source: root,
        out: path.join(tempDir(), 'b'),
        transforms: [new FaceAlign()],
        landmarks,
        pool,
      }),
      /landmarks\.txt: no landmarks for id0\/1\.jpg/,
    );
  });
});

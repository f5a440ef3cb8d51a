import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DecodePool } from '../../lib/data/decode-pool';
import { CACHE_VERSION } from '../../lib/data/image-cache';
import { loadImages } from '../../lib/data/load-images';
import { CenterCrop } from '../../lib/data/transforms/center-crop';
import { FaceAlign } from '../../lib/data/transforms/face-align';
import { Resize } from '../../lib/data/transforms/resize';
import { expectReject, gradient, tempDir, writeImage } from './helpers';

/** A pool that fails the test if anything asks it to decode. */
class NoDecodePool extends DecodePool {
  override run(): Promise<void> {
    return Promise.reject(new Error('decoded although the cache should have answered'));
  }
}

async function folderOf(count: number): Promise<{ dir: string; paths: string[] }> {
  const dir = tempDir();
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    paths.push(
      await writeImage(path.join(dir, `img${i}.jpg`), 30 + i, 24, (x, y) => gradient(x + 5 * i, y)),
    );
  }
  return { dir, paths };
}

describe('loadImages and the image cache', function () {
  let pool: DecodePool;
  before(() => {
    pool = new DecodePool({ threads: 2 });
  });
  after(() => pool.close());

  it('decodes, transforms and packs images in input order, labels alongside', async () => {
    const { paths } = await folderOf(5);
    const set = await loadImages(paths, {
      transforms: [new Resize(12), new CenterCrop(12)],
      labels: [4, 3, 2, 1, 0],
      pool,
    });
    expect([set.n, set.height, set.width]).to.deep.equal([5, 12, 12]);
    expect(Array.from(set.labels!)).to.deep.equal([4, 3, 2, 1, 0]);
    // Each slot holds exactly what the transforms give for that file alone.
    for (let i = 0; i < 5; i++) {
      const one = await loadImages([paths[i]], {
        transforms: [new Resize(12), new CenterCrop(12)],
        pool,
      });
      expect(
        Buffer.from(set.images.subarray(i * 432, (i + 1) * 432)).equals(Buffer.from(one.images)),
      ).to.equal(true);
    }
  });

  it('names the bad file, or skips bad files and reports them', async () => {
    const { dir, paths } = await folderOf(3);
    const empty = path.join(dir, 'empty.jpg');
    fs.writeFileSync(empty, '');
    const text = path.join(dir, 'text.jpg');
    fs.writeFileSync(text, 'not an image at all');
    const cut = path.join(dir, 'cut.jpg');
    fs.writeFileSync(cut, fs.readFileSync(paths[0]).subarray(0, 300));
    const all = [paths[0], empty, paths[1], text, cut, paths[2], path.join(dir, 'missing.jpg')];
    const opts = {
      transforms: [new Resize([8, 8])],
      labels: [0, 1, 2, 3, 4, 5, 6],
      pool,
    };
    await expectReject(
      loadImages(all, opts),
      /cannot decode .*empty\.jpg: zero-byte file \(and 3 more bad images\)/,
    );
    const set = await loadImages(all, { ...opts, onBadImage: 'skip' });
    expect(set.n).to.equal(3);
    expect(Array.from(set.kept)).to.deep.equal([0, 2, 5]);
    expect(Array.from(set.labels!)).to.deep.equal([0, 2, 5]);
    expect(set.skipped.map((s) => [s.index, path.basename(s.path)])).to.deep.equal([
      [1, 'empty.jpg'],
      [3, 'text.jpg'],
      [4, 'cut.jpg'],
      [6, 'missing.jpg'],
    ]);
    expect(set.skipped[1].reason).to.match(/not a JPEG, PNG, WebP, GIF or BMP/);
    expect(set.skipped[2].reason).to.match(/truncated or corrupt JPEG/);
    expect(set.skipped[3].reason).to.match(/cannot read \(ENOENT\)/);
  });

  it('says an image whose face points do not fit could not be aligned, not decoded', async () => {
    const { paths } = await folderOf(2);
    const speck = Float64Array.from({ length: 10 }, (_, k) => (k % 2 === 0 ? 12 : 7));
    const error = await expectReject(
      loadImages(paths, {
        transforms: [new FaceAlign()],
        landmarks: [undefined, Array.from(speck)],
        pool,
      }),
      /^cannot align .*img0\.jpg: FaceAlign: this image has no five-point landmarks .*\(and 1 more bad images\)/,
    );
    expect(error.message).not.to.include('cannot decode');
  });

  it('refuses images of different sizes after the transforms, naming the first two sizes in order', async () => {
    const { paths } = await folderOf(8);
    // The largest first: the workers finish the later, smaller ones before it.
    const order = [7, 0, 1, 2, 3, 4, 5, 6].map((i) => paths[i]);
    for (let run = 0; run < 3; run++) {
      await expectReject(
        loadImages(order, { pool }),
        /img0\.jpg is 24x30 after the transforms but .*img7\.jpg is 24x37; every image needs one size/,
      );
    }
  });

  it('reuses the cache without decoding, and rebuilds it when a file changes', async () => {
    const { dir, paths } = await folderOf(4);
    const cacheDir = path.join(dir, 'cache');
    const opts = {
      transforms: [new Resize([10, 10])],
      labels: [1, 1, 0, 0],
      cacheDir,
      pool,
    };
    const first = await loadImages(paths, opts);
    expect(first.fromCache).to.equal(false);
    expect(first.cacheMiss).to.equal('missing');
    const second = await loadImages(paths, { ...opts, pool: new NoDecodePool() });
    expect(second.fromCache).to.equal(true);
    expect(Buffer.from(second.images).equals(Buffer.from(first.images))).to.equal(true);
    expect(Array.from(second.labels!)).to.deep.equal([1, 1, 0, 0]);
    // A different transform is a different cache.
    const other = await loadImages(paths, { ...opts, transforms: [new Resize([6, 6])] });
    expect(other.fromCache).to.equal(false);
    // A changed file (new content and size) is noticed.
    await writeImage(paths[2], 40, 30, (x, y) => [x, y, 200]);
    const rebuilt = await loadImages(paths, opts);
    expect(rebuilt.fromCache).to.equal(false);
    expect(
      Buffer.from(rebuilt.images.subarray(600, 900)).equals(
        Buffer.from(first.images.subarray(600, 900)),
      ),
    ).to.equal(false);
    expect(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.sfcache'))).to.have.length(1);
  });

  it('keeps the caches of sets from different folders side by side in one cacheDir', async () => {
    const train = await folderOf(3);
    const lfw = await folderOf(2);
    // Each set's images in subfolders, as a dataset's identities are.
    const nest = (set: { dir: string; paths: string[] }, name: string) =>
      set.paths.map((p, i) => {
        const to = path.join(set.dir, name, `id${i % 2}`, path.basename(p));
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.renameSync(p, to);
        return to;
      });
    const trainPaths = nest(train, 'casia');
    const lfwPaths = nest(lfw, 'lfw');
    const cacheDir = tempDir();
    const opts = { transforms: [new Resize([10, 10])], cacheDir, pool };
    for (const round of [0, 1]) {
      const a = await loadImages(trainPaths, opts);
      const b = await loadImages(lfwPaths, opts);
      expect([a.fromCache, b.fromCache]).to.deep.equal([round === 1, round === 1]);
      expect(path.basename(a.cacheFile!)).to.match(/^casia-[0-9a-f]{8}-[0-9a-f]{16}\.sfcache$/);
      expect(path.basename(b.cacheFile!)).to.match(/^lfw-[0-9a-f]{8}-[0-9a-f]{16}\.sfcache$/);
    }
    // Another pipeline on one set still replaces that set's cache alone.
    await loadImages(lfwPaths, { ...opts, transforms: [new Resize([8, 8])] });
    const names = fs.readdirSync(cacheDir).filter((f) => f.endsWith('.sfcache'));
    expect(names.map((n) => n.split('-')[0]).sort()).to.deep.equal(['casia', 'lfw']);
  });

  it('never trusts a truncated, corrupted or other-version cache file: it rebuilds it', async () => {
    const { dir, paths } = await folderOf(3);
    const cacheDir = path.join(dir, 'cache');
    const opts = { transforms: [new Resize([10, 10])], cacheDir, pool };
    const good = await loadImages(paths, opts);
    const file = good.cacheFile!;
    const bytes = fs.readFileSync(file);
    const cases: [string, Buffer][] = [
      ['truncated', bytes.subarray(0, bytes.length - 17)],
      ['corrupt', Buffer.from(bytes.map((b, i) => (i === bytes.length - 100 ? b ^ 0xff : b)))],
      [
        'other-version',
        Buffer.concat([
          bytes.subarray(0, 8),
          Buffer.from(new Uint32Array([CACHE_VERSION + 1]).buffer),
          bytes.subarray(12),
        ]),
      ],
    ];
    for (const [miss, content] of cases) {
      fs.writeFileSync(file, content);
      const again = await loadImages(paths, opts);
      expect(again.fromCache, miss).to.equal(false);
      expect(again.cacheMiss).to.equal(miss);
      expect(Buffer.from(again.images).equals(Buffer.from(good.images)), miss).to.equal(true);
      expect(fs.readFileSync(file).equals(bytes), `${miss}: rewritten whole`).to.equal(true);
    }
    expect(
      fs.readdirSync(cacheDir).filter((f) => f.endsWith('.tmp')),
      'no temp files left',
    ).to.have.length(0);
  });
});

// Each rank's part of every batch: together the ranks train on exactly the batches one process
// would, in the same seeded order.
import { expect } from 'chai';
import * as path from 'node:path';
import { DataLoader } from '../../lib/data/data-loader';
import { prepareImageStore } from '../../lib/data/store/prepare-image-store';
import { batchesPerEpoch, rankBatchRange } from '../../lib/data/rank-share';
import type { Batch, ImageSet } from '../../lib/data/types';
import { gradient, tempDir, writeImage } from '../data/helpers';

/** n one-pixel images whose bytes and label encode the image index. */
function indexedSet(n: number): ImageSet {
  const images = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) images.fill(i, 3 * i, 3 * i + 3);
  return { images, n, height: 1, width: 1, labels: Int32Array.from({ length: n }, (_, i) => i) };
}

async function labelsOf(loader: DataLoader, epoch: number): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const batch of loader.batches(epoch)) batches.push(Array.from(batch.labels));
  return batches;
}

describe('rank shares of a batch', () => {
  it('split each batch into contiguous parts, rank 0 first, sizes differing by at most one', () => {
    for (const total of [3, 7, 64, 65, 100]) {
      for (const batchSize of [3, 8, 64]) {
        for (const worldSize of [1, 2, 3]) {
          const batches = batchesPerEpoch(total, batchSize, worldSize, false);
          for (let b = 0; b < batches; b++) {
            const parts = Array.from({ length: worldSize }, (_, r) =>
              rankBatchRange(b, batchSize, total, r, worldSize),
            );
            const whole = Math.min(batchSize, total - b * batchSize);
            let next = b * batchSize;
            for (const part of parts) {
              expect(part.start, `${total}/${batchSize}/${worldSize} batch ${b}`).to.equal(next);
              expect(part.n).to.be.at.least(1);
              next += part.n;
            }
            expect(next - b * batchSize).to.equal(whole);
            const sizes = parts.map((p) => p.n);
            expect(Math.max(...sizes) - Math.min(...sizes)).to.be.at.most(1);
          }
        }
      }
    }
  });

  it('leave out a last batch with fewer images than ranks (and keep it with one rank)', () => {
    expect(batchesPerEpoch(10, 4, 1, false)).to.equal(3); // 4 + 4 + 2
    expect(batchesPerEpoch(10, 4, 2, false)).to.equal(3); // the 2 go one to each rank
    expect(batchesPerEpoch(10, 4, 3, false)).to.equal(2); // 2 images for 3 ranks: left out
    expect(batchesPerEpoch(11, 4, 3, false)).to.equal(3);
    expect(batchesPerEpoch(11, 4, 3, true)).to.equal(2);
  });

  it('make the ranks of a DataLoader serve together the batches of one loader', async () => {
    const set = indexedSet(30);
    const options = { batchSize: 8, seed: 11 };
    const single = new DataLoader(set, options);
    const ranks = [0, 1, 2].map((rank) => new DataLoader(set, { ...options, rank, worldSize: 3 }));
    for (const loader of ranks) expect(loader.batchesPerEpoch).to.equal(4);
    for (const epoch of [0, 3]) {
      const whole = await labelsOf(single, epoch);
      const parts = await Promise.all(ranks.map((loader) => labelsOf(loader, epoch)));
      whole.forEach((batch, b) => {
        expect(
          parts.flatMap((rank) => rank[b]),
          `epoch ${epoch} batch ${b}`,
        ).to.deep.equal(batch);
      });
    }
    // The images travel with their labels.
    const batch = await ranks[1].batchAt(2, 1);
    Array.from(batch.labels).forEach((label, i) => expect(batch.images[3 * i]).to.equal(label));
  });

  it('read from an image store only their parts, which together are the bytes of one loader', async () => {
    const root = tempDir('sphereface-rank-store-');
    for (let k = 0; k < 13; k++) {
      const pixel = (x: number, y: number) => gradient(x + 7 * k, y + 3 * k);
      await writeImage(path.join(root, `id${k % 3}`, `${k}.png`), 6, 5, pixel, 'image/png');
    }
    const store = await prepareImageStore({
      source: root,
      out: path.join(tempDir(), 'store'),
      imagesPerShard: 4,
    });
    try {
      const options = { batchSize: 5, seed: 4 };
      const copy = (b: Batch) => ({ images: Buffer.from(b.images), labels: Array.from(b.labels) });
      const single = [];
      for await (const batch of new DataLoader(store, options).batches(1)) single.push(copy(batch));
      const ranks = [0, 1].map((rank) => new DataLoader(store, { ...options, rank, worldSize: 2 }));
      for (let b = 0; b < single.length; b++) {
        const parts = await Promise.all(
          ranks.map(async (loader) => copy(await loader.batchAt(1, b))),
        );
        expect(parts.map((p) => p.labels.length)).to.deep.equal(b < 2 ? [3, 2] : [2, 1]);
        expect(Buffer.concat(parts.map((p) => p.images)).equals(single[b].images)).to.equal(true);
        expect(parts.flatMap((p) => p.labels)).to.deep.equal(single[b].labels);
      }
    } finally {
      store.close();
    }
  });

  it('refuse a rank outside the world and a world larger than the batch', () => {
    const set = indexedSet(10);
    expect(() => new DataLoader(set, { batchSize: 4, rank: 2, worldSize: 2 })).to.throw(
      /0\.\.1 for rank but received 2/,
    );
    expect(() => new DataLoader(set, { batchSize: 4, worldSize: 5 })).to.throw(
      /1\.\.batchSize \(4\) for worldSize but received 5/,
    );
    expect(() => new DataLoader(indexedSet(2), { batchSize: 4, worldSize: 3 })).to.throw(
      /2 images make no batch with an image for each of 3 ranks/,
    );
  });
});

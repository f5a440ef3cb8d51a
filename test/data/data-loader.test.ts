import { expect } from 'chai';
import { DataLoader, MAX_BATCH_SIZE, type DataLoaderOptions } from '../../lib/data/data-loader';
import { RandomCrop } from '../../lib/data/transforms/random-crop';
import { RandomHorizontalFlip } from '../../lib/data/transforms/random-horizontal-flip';
import type { Batch, ImageSet } from '../../lib/data/types';
import { expectReject } from './helpers';

/** n images of h x w whose every byte encodes the image index, so gathers can be checked. */
function indexedSet(n: number, h = 2, w = 3): ImageSet {
  const bytes = h * w * 3;
  const images = new Uint8Array(n * bytes);
  for (let i = 0; i < n; i++) images.fill(i % 251, i * bytes, (i + 1) * bytes);
  return {
    images,
    n,
    height: h,
    width: w,
    labels: Int32Array.from({ length: n }, (_, i) => i % 7),
  };
}

async function collect(
  loader: DataLoader,
  epoch: number,
  start = 0,
): Promise<{ images: number[]; labels: number[]; flip: number[]; n: number }[]> {
  const out = [];
  for await (const b of loader.batches(epoch, start)) out.push(copy(b));
  return out;
}

function copy(b: Batch) {
  return {
    images: Array.from(b.images),
    labels: Array.from(b.labels),
    flip: Array.from(b.flip),
    n: b.n,
  };
}

describe('DataLoader', () => {
  it('serves every image once per epoch, in a seeded order that changes with the epoch', async () => {
    const set = indexedSet(50);
    const loader = new DataLoader(set, { batchSize: 8, seed: 3 });
    expect(loader.batchesPerEpoch).to.equal(7);
    const e0 = await collect(loader, 0);
    const seen = e0.flatMap((b) => Array.from({ length: b.n }, (_, i) => b.images[i * 18]));
    expect([...seen].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    // Labels travel with their images.
    e0.forEach((b) => b.labels.forEach((l, i) => expect(l).to.equal(b.images[i * 18] % 7)));
    expect(e0[6].n).to.equal(2);
    const again = await collect(new DataLoader(set, { batchSize: 8, seed: 3 }), 0);
    expect(again).to.deep.equal(e0);
    const e1 = await collect(loader, 1);
    expect(e1.map((b) => b.images)).to.not.deep.equal(e0.map((b) => b.images));
    const otherSeed = await collect(new DataLoader(set, { batchSize: 8, seed: 4 }), 0);
    expect(otherSeed.map((b) => b.images)).to.not.deep.equal(e0.map((b) => b.images));
  });

  it('resumes at (epoch, batch) with exactly the batches and augmentation of an unbroken run', async () => {
    const set = indexedSet(40, 4, 4);
    const options = {
      batchSize: 6,
      seed: 11,
      transforms: [new RandomCrop(4, { padding: 1 }), new RandomHorizontalFlip(0.5)],
    };
    const full = await collect(new DataLoader(set, options), 2);
    const resumed = await collect(new DataLoader(set, options), 2, 4);
    expect(resumed).to.deep.equal(full.slice(4));
  });

  it('drops the short last batch with dropLast', async () => {
    const set = indexedSet(20);
    const loader = new DataLoader(set, { batchSize: 6, dropLast: true });
    expect(loader.batchesPerEpoch).to.equal(3);
    const batches = await collect(loader, 0);
    expect(batches.map((b) => b.n)).to.deep.equal([6, 6, 6]);
    expect(new DataLoader(set, { batchSize: 6 }).batchesPerEpoch).to.equal(4);
    expect(() => new DataLoader(set, { batchSize: 21, dropLast: true })).to.throw(/no full batch/);
  });

  it('flips at the requested rate (binomial bound) without touching pixels', async () => {
    const set = indexedSet(4000, 1, 1);
    const loader = new DataLoader(set, {
      batchSize: 500,
      seed: 5,
      transforms: [new RandomHorizontalFlip(0.3)],
    });
    let flips = 0;
    let total = 0;
    for (let epoch = 0; epoch < 5; epoch++) {
      for await (const b of loader.batches(epoch)) {
        for (let i = 0; i < b.n; i++) flips += b.flip[i];
        total += b.n;
      }
    }
    const sd = Math.sqrt(total * 0.3 * 0.7);
    expect(Math.abs(flips - total * 0.3)).to.be.below(5 * sd);
  });

  it('hands out views of the set when there is nothing to gather', async () => {
    const set = indexedSet(10);
    const loader = new DataLoader(set, { batchSize: 4, shuffle: false });
    const batches: Batch[] = [];
    for await (const b of loader.batches(0)) batches.push(b);
    expect(batches[1].images.buffer).to.equal(set.images.buffer);
    expect(batches[1].images.byteOffset).to.equal(4 * 18);
    expect(batches[1].labels.buffer).to.equal(set.labels!.buffer);
  });

  it('keeps a batch intact while the next one is in use, at every prefetch depth', async () => {
    const set = indexedSet(60);
    for (const prefetch of [0, 1, 3]) {
      const loader = new DataLoader(set, { batchSize: 5, seed: 2, prefetch });
      const reference = new DataLoader(set, { batchSize: 5, seed: 2 });
      let previous: Batch | undefined;
      let b = 0;
      for await (const batch of loader.batches(1)) {
        if (previous)
          expect(copy(previous), `prefetch ${prefetch}, batch ${b - 1}`).to.deep.equal(
            copy(await reference.batchAt(1, b - 1)),
          );
        expect(copy(batch)).to.deep.equal(copy(await reference.batchAt(1, b)));
        previous = batch;
        b++;
      }
      expect(b).to.equal(12);
    }
  });

  it('gives iterations at once buffers of their own, and reuses them epoch after epoch', async () => {
    const set = indexedSet(60);
    const options = { batchSize: 5, seed: 2, transforms: [new RandomCrop([2, 2])] };
    const alone = [await collect(new DataLoader(set, options), 0)];
    alone.push(await collect(new DataLoader(set, options), 1));
    const loader = new DataLoader(set, options);
    expect(await Promise.all([collect(loader, 0), collect(loader, 1)])).to.deep.equal(alone);
    // One iteration after another: the second gathers into the first one's buffers.
    const buffers = async (epoch: number) => {
      const seen = new Set<ArrayBufferLike>();
      for await (const batch of loader.batches(epoch)) seen.add(batch.images.buffer);
      return seen;
    };
    const first = await buffers(2);
    expect([...(await buffers(3))].every((buffer) => first.has(buffer))).to.equal(true);
  });

  it('rejects bad settings naming them', async () => {
    const set = indexedSet(10);
    expect(() => new DataLoader(set, { batchSize: 0 })).to.throw(
      RangeError,
      /^Expected an integer in 1\.\.1048576 for batchSize but received 0 of type number$/,
    );
    expect(() => new DataLoader({ ...set, labels: undefined }, { batchSize: 2 })).to.throw(
      /no labels/,
    );
    expect(() => new DataLoader(set, { batchSize: 2, classes: 3 })).to.throw(
      /label 6 is not below classes \(3\)/,
    );
    const loader = new DataLoader(set, { batchSize: 2 });
    await expectReject(loader.batchAt(0, 5), /batch in 0\.\.4 but received 5/);
    expect(() => new DataLoader(set, { batchSize: 2, transforms: [new RandomCrop(5)] })).to.throw(
      /does not fit 2x3/,
    );
  });

  it('refuses an absurd batchSize, a negative seed and missing options in the constructor', () => {
    const set = indexedSet(10);
    const loose = (options?: unknown) => () => new DataLoader(set, options as DataLoaderOptions);
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [
        { batchSize: 1e9 },
        RangeError,
        /^Expected an integer in 1\.\.1048576 for batchSize but received 1000000000 of type number$/,
      ],
      [{ batchSize: '4' }, TypeError, /for batchSize but received '4'$/],
      [
        { batchSize: 2, seed: -1 },
        RangeError,
        /^Expected an integer >= 0 for seed but received -1 of type number$/,
      ],
      [{ batchSize: 2, seed: '1' }, TypeError, /for seed but received '1'$/],
      [
        { batchSize: 2, shuffle: 'no' },
        TypeError,
        /^Expected a boolean for shuffle but received 'no'$/,
      ],
      [{ batchSize: 2, prefetch: -1 }, RangeError, /for prefetch but received -1/],
      [{ batchSize: 2, classes: '9' }, TypeError, /for classes but received '9'$/],
      [
        undefined,
        TypeError,
        /^Expected DataLoader options \(\{ batchSize, shuffle\?, seed\?, \.\.\. \}\) for options but received a value of type undefined$/,
      ],
    ];
    for (const [options, type, pattern] of cases) {
      expect(loose(options), JSON.stringify(options)).to.throw(type, pattern);
    }
  });

  it('allocates no more than the set for a batchSize larger than it', async () => {
    const set = indexedSet(10);
    const loader = new DataLoader(set, { batchSize: MAX_BATCH_SIZE, seed: 1 });
    expect(loader.batchesPerEpoch).to.equal(1);
    const [batch] = await collect(loader, 0);
    expect(batch.n).to.equal(10);
    expect([...batch.labels].sort((a, b) => a - b)).to.deep.equal(
      [...set.labels!].sort((a, b) => a - b),
    );
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataLoader, type LoaderTransform } from '../../../lib/data/data-loader';
import { DecodePool } from '../../../lib/data/decode-pool';
import { ImageFolderDataset } from '../../../lib/data/image-folder-dataset';
import { loadImages } from '../../../lib/data/load-images';
import { Random } from '../../../lib/util/random';
import type { ImageStore } from '../../../lib/data/store/image-store';
import { prepareImageStore } from '../../../lib/data/store/prepare-image-store';
import { CenterCrop } from '../../../lib/data/transforms/center-crop';
import { RandomCrop } from '../../../lib/data/transforms/random-crop';
import { RandomHorizontalFlip } from '../../../lib/data/transforms/random-horizontal-flip';
import { Resize } from '../../../lib/data/transforms/resize';
import type { Batch, ImageSet } from '../../../lib/data/types';
import { createModel } from '../../../lib/models/model';
import { encode, gradient, tempDir, writeImage } from '../helpers';

interface Copied {
  images: Buffer;
  labels: number[];
  flip: number[];
  n: number;
}

function copy(b: Batch): Copied {
  return {
    images: Buffer.from(b.images),
    labels: Array.from(b.labels),
    flip: Array.from(b.flip),
    n: b.n,
  };
}

async function collect(loader: DataLoader, epoch: number, start = 0): Promise<Copied[]> {
  const out: Copied[] = [];
  for await (const b of loader.batches(epoch, start)) out.push(copy(b));
  return out;
}

/**
 * The loader's semantics written out in plain JS over a set: a seeded shuffle per epoch, then per
 * batch a CenterCrop, a RandomCrop (two draws an image) and the flip mask (one draw an image).
 */
function referenceEpoch(
  set: ImageSet,
  epoch: number,
  options: {
    seed: number;
    batchSize: number;
    centre: CenterCrop;
    crop: RandomCrop;
    flip: RandomHorizontalFlip;
  },
): Copied[] {
  const order = Int32Array.from({ length: set.n }, (_, i) => i);
  new Random(options.seed, 0, epoch).shuffle(order);
  const bytes = set.height * set.width * 3;
  const outBytes = options.crop.height * options.crop.width * 3;
  const batches: Copied[] = [];
  for (let b = 0; b * options.batchSize < set.n; b++) {
    const rng = new Random(options.seed, 1, epoch, b);
    const n = Math.min(options.batchSize, set.n - b * options.batchSize);
    const images = Buffer.alloc(n * outBytes);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const j = order[b * options.batchSize + i];
      labels.push(set.labels![j]);
      const centred = options.centre.apply({
        data: set.images.subarray(j * bytes, (j + 1) * bytes),
        height: set.height,
        width: set.width,
      });
      options.crop.cropInto(
        centred.data,
        centred.height,
        centred.width,
        images.subarray(i * outBytes, (i + 1) * outBytes),
        rng,
      );
    }
    const flip = new Uint8Array(n);
    options.flip.decide(flip, rng);
    batches.push({ images, labels, flip: Array.from(flip), n });
  }
  return batches;
}

describe('DataLoader over an ImageStore', function () {
  let pool: DecodePool;
  let store: ImageStore;
  let set: ImageSet;

  before(async () => {
    pool = new DecodePool({ threads: 2 });
    const root = tempDir('sphereface-loader-store-');
    for (let k = 0; k < 23; k++) {
      await writeImage(path.join(root, `id${k % 4}`, `${k}.jpg`), 24, 20, (x, y) =>
        gradient(x + 11 * k, y + k),
      );
    }
    const transforms = [new Resize(14), new CenterCrop([14, 12])];
    store = await prepareImageStore({
      source: root,
      out: path.join(tempDir(), 'store'),
      transforms,
      imagesPerShard: 5,
      pool,
    });
    const folder = new ImageFolderDataset(root);
    set = await loadImages(folder.paths, {
      transforms,
      labels: folder.labels,
      pool,
    });
  });
  after(async () => {
    store.close();
    await pool.close();
  });

  it('yields byte-identical batches to the same images in memory, and to the plain-JS semantics', async () => {
    const centre = new CenterCrop([12, 10]);
    const crop = new RandomCrop([12, 10], { padding: 2 });
    const flip = new RandomHorizontalFlip(0.5);
    const options = {
      batchSize: 5,
      seed: 7,
      transforms: [centre, crop, flip] as LoaderTransform[],
    };
    const fromStore = new DataLoader(store, options);
    const fromSet = new DataLoader(set, options);
    expect([fromStore.height, fromStore.width, fromStore.batchesPerEpoch]).to.deep.equal([
      12, 10, 5,
    ]);
    for (const epoch of [0, 3]) {
      const a = await collect(fromStore, epoch);
      const b = await collect(fromSet, epoch);
      expect(a, `epoch ${epoch}`).to.deep.equal(b);
      expect(a, `epoch ${epoch}`).to.deep.equal(
        referenceEpoch(set, epoch, { seed: 7, batchSize: 5, centre, crop, flip }),
      );
      // Resuming mid-epoch gives the rest of the same epoch.
      expect(await collect(new DataLoader(store, options), epoch, 2)).to.deep.equal(a.slice(2));
    }
    // In order and uncropped, the store serves its images as they are.
    const plain = await collect(new DataLoader(store, { batchSize: 10, shuffle: false }), 0);
    expect(Buffer.concat(plain.map((b) => b.images)).equals(Buffer.from(set.images))).to.equal(
      true,
    );
    expect(plain.flatMap((b) => b.labels)).to.deep.equal(Array.from(set.labels!));
  });

  it('feeds 112x112 images to the 112x96 nets through a fused centre crop', async () => {
    const root = tempDir('sphereface-112-');
    const pixel =
      (k: number) =>
      (x: number, y: number): [number, number, number] => [
        (x * 2 + k * 40) % 256,
        (y * 2 + x) % 256,
        (x * y + k) % 256,
      ];
    for (let k = 0; k < 6; k++) {
      // PNG: lossless, so the stored pixels are the function's.
      fs.mkdirSync(path.join(root, `id${k % 3}`), { recursive: true });
      fs.writeFileSync(
        path.join(root, `id${k % 3}`, `${k}.png`),
        await encode(112, 112, pixel(k), 'image/png'),
      );
    }
    const square = await prepareImageStore({
      source: root,
      out: path.join(tempDir(), 'store'),
      pool,
    });
    expect([square.height, square.width]).to.deep.equal([112, 112]);
    const loader = new DataLoader(square, {
      batchSize: 6,
      shuffle: false,
      transforms: [new CenterCrop([112, 96])],
    });
    expect([loader.height, loader.width]).to.deep.equal([112, 96]);
    const [batch] = await collect(loader, 0);
    // Store order: class folders id0 (images 0, 3), id1 (1, 4), id2 (2, 5).
    [0, 3, 1, 4, 2, 5].forEach((k, i) => {
      for (const [x, y] of [
        [0, 0],
        [95, 111],
        [40, 57],
      ]) {
        const at = ((i * 112 + y) * 96 + x) * 3;
        expect(
          Array.from(batch.images.subarray(at, at + 3)),
          `image ${k} (${x}, ${y})`,
        ).to.deep.equal(pixel(k)(x + 8, y));
      }
    });
    const model = await createModel({
      arch: 'sphere4',
      classes: 3,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      seed: 1,
    });
    try {
      const step = await model.trainStep({
        images: batch.images,
        labels: Int32Array.from(batch.labels),
        n: 6,
        lr: 0.01,
        lambda: 5,
      });
      expect(Number.isFinite(step.loss)).to.equal(true);
    } finally {
      model.dispose();
      square.close();
    }
  });

  it('rejects transforms out of order naming the rule', () => {
    expect(
      () =>
        new DataLoader(store, { batchSize: 2, transforms: [new RandomCrop(4), new CenterCrop(4)] }),
    ).to.throw(/a CenterCrop, then a RandomCrop and a RandomHorizontalFlip, each once/);
    expect(
      () => new DataLoader(store, { batchSize: 2, transforms: [new Resize(4)] as never }),
    ).to.throw(/belong to the store/);
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Random } from '../../../lib/util/random';
import { ImageReader, liveImageReaderCount } from '../../../lib/data/store/image-reader';
import { CenterCrop } from '../../../lib/data/transforms/center-crop';
import { RandomCrop } from '../../../lib/data/transforms/random-crop';
import { expectReject, tempDir } from '../helpers';

const N = 11;
const H = 7;
const W = 9;
const BYTES = H * W * 3;

function randomImages(seed: number): Uint8Array {
  const rng = new Random(seed);
  return Uint8Array.from({ length: N * BYTES }, () => 1 + rng.int(255)); // no zeros: padding shows
}

/** The same images as shard files of `perShard` images, laid out by hand: raw bytes back to back. */
function shardFiles(images: Uint8Array, perShard: number): string[] {
  const dir = tempDir('sphereface-reader-');
  const files: string[] = [];
  for (let k = 0; k * perShard < N; k++) {
    const file = path.join(dir, `part${k}.bin`);
    fs.writeFileSync(
      file,
      images.subarray(k * perShard * BYTES, Math.min(N, (k + 1) * perShard) * BYTES),
    );
    files.push(file);
  }
  return files;
}

function image(images: Uint8Array, i: number) {
  return { data: images.subarray(i * BYTES, (i + 1) * BYTES), height: H, width: W };
}

describe('ImageReader (the native batch gather)', () => {
  const images = randomImages(1);
  const readers = () => [
    ImageReader.fromImages({ images, n: N, height: H, width: W }),
    ImageReader.fromShards(shardFiles(images, 4), 4, N, H, W),
    ImageReader.fromShards(shardFiles(images, 1), 1, N, H, W),
  ];

  it('gathers whole images by index, repeats included, from memory and from shards', async () => {
    const indices = Int32Array.from([10, 0, 3, 3, 7, 4, 5]);
    const expected = new Uint8Array(indices.length * BYTES);
    indices.forEach((j, i) => expected.set(image(images, j).data, i * BYTES));
    for (const reader of readers()) {
      const out = new Uint8Array(indices.length * BYTES).fill(99);
      await reader.gather(indices, out);
      expect(Buffer.from(out).equals(Buffer.from(expected))).to.equal(true);
      reader.close();
    }
  });

  it('fuses CenterCrop and RandomCrop(padding) as the plain-JS transforms do them', async () => {
    // Centre windows smaller and larger than the images, crops with and without padding.
    const cases: [CenterCrop | undefined, RandomCrop | undefined][] = [
      [undefined, new RandomCrop([H, W], { padding: 2 })],
      [undefined, new RandomCrop([4, 5], { padding: 0 })],
      [new CenterCrop([5, 6]), undefined],
      [new CenterCrop([7, 6]), new RandomCrop([7, 6], { padding: 3 })],
      [new CenterCrop([10, 12]), new RandomCrop([6, 8], { padding: 1 })],
      [undefined, new RandomCrop([3, 4], { padding: 9 })], // windows wholly inside the padding
    ];
    const indices = Int32Array.from([2, 9, 0, 5, 5, 10, 1, 6, 3, 8, 4, 7]);
    for (const [centre, crop] of cases) {
      const [top, left] = centre ? centre.offset(H, W) : [0, 0];
      const window = { top, left, height: centre?.height ?? H, width: centre?.width ?? W };
      const outH = crop?.height ?? window.height;
      const outW = crop?.width ?? window.width;
      const outBytes = outH * outW * 3;
      // Reference: each image through CenterCrop.apply, then RandomCrop.cropInto's own copy loop.
      const expected = new Uint8Array(indices.length * outBytes);
      const reference = new Random(42);
      const draws = new Random(42);
      const offsets = new Int32Array(2 * indices.length);
      indices.forEach((j, i) => {
        const centred = centre ? centre.apply(image(images, j)) : image(images, j);
        const to = expected.subarray(i * outBytes, (i + 1) * outBytes);
        if (crop) {
          crop.cropInto(centred.data, centred.height, centred.width, to, reference);
          [offsets[2 * i], offsets[2 * i + 1]] = crop.offset(window.height, window.width, draws);
        } else {
          to.set(centred.data);
        }
      });
      for (const reader of readers()) {
        const out = new Uint8Array(indices.length * outBytes).fill(77);
        await reader.gather(indices, out, {
          window,
          height: outH,
          width: outW,
          offsets: crop ? offsets : undefined,
        });
        const what = `centre ${centre?.height}x${centre?.width}, crop ${crop?.height}x${crop?.width}/${crop?.padding}`;
        expect(Buffer.from(out).equals(Buffer.from(expected)), what).to.equal(true);
        reader.close();
      }
    }
  });

  it('refuses close() while a gather is in flight (it settles on the JS thread)', async () => {
    const n = 64;
    const reader = ImageReader.fromImages({
      images: new Uint8Array(n * BYTES),
      n,
      height: H,
      width: W,
    });
    const gathering = reader.gather(
      Int32Array.from({ length: n }, (_, i) => i),
      new Uint8Array(n * BYTES),
    );
    expect(reader.inFlight()).to.equal(1);
    expect(() => reader.close()).to.throw(/1 gathers are in flight/);
    await gathering;
    expect(reader.inFlight()).to.equal(0);
    reader.close();
  });

  it('rejects bad requests naming them, and damaged shard files naming the file', async () => {
    const [memory] = readers();
    const out = new Uint8Array(2 * BYTES);
    expect(() => memory.gather(Int32Array.from([0, N]), out)).to.throw(
      /index 11 \(at 1\) is out of range for 11 images/,
    );
    expect(() => memory.gather(Int32Array.from([0, 1, 2]), out)).to.throw(/at least 567 bytes/);
    expect(() => memory.gather(Int32Array.from([0]), out, { offsets: new Int32Array(1) })).to.throw(
      /2 offsets/,
    );
    memory.close();
    expect(() => memory.gather(Int32Array.from([0]), out)).to.throw(/closed/);

    const files = shardFiles(images, 4);
    fs.truncateSync(files[1], 4 * BYTES - 1);
    const reader = ImageReader.fromShards(files, 4, N, H, W);
    await reader.gather(Int32Array.from([0, 3]), out); // shard 0 is fine
    await expectReject(
      reader.gather(Int32Array.from([0, 5]), out),
      new RegExp(
        `shard ${files[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} holds 755 bytes, expected 756`,
      ),
    );
    fs.rmSync(files[2]);
    await expectReject(reader.gather(Int32Array.from([9]), out), /cannot open shard .*part2\.bin/);
    reader.close();
    expect(() => ImageReader.fromShards(files.slice(0, 2), 4, N, H, W)).to.throw(
      /need 3 shard files, got 2/,
    );
  });

  it('counts live readers until they are closed', () => {
    const before = liveImageReaderCount();
    const reader = ImageReader.fromImages({ images, n: N, height: H, width: W });
    expect(liveImageReaderCount()).to.equal(before + 1);
    reader.close();
    reader.close(); // idempotent
    expect(liveImageReaderCount()).to.equal(before);
  });
});

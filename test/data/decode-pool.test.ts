import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DecodePool, type DecodeOutcome } from '../../lib/data/decode-pool';
import { decodeImage } from '../../lib/data/image-decoder';
import { ImageFolderDataset } from '../../lib/data/image-folder-dataset';
import { loadImages, type LoadImagesOptions } from '../../lib/data/load-images';
import { readImageFile } from '../../lib/data/read-image-file';
import { Resize } from '../../lib/data/transforms/resize';
import type { DeterministicTransform } from '../../lib/data/transforms/transform';
import { embedFiles } from '../../lib/models/face-files';
import { DecodePool as PublicDecodePool } from '../../lib';
import { bombPng } from './decode-helpers';
import { encode, expectReject, gradient, rgbOf, tempDir, writeImage } from './helpers';
import { rejection } from '../rejection';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'decode');

const model = {
  embeddingDim: 1,
  inputSize: { height: 4, width: 4 },
  async embed(_images: Uint8Array, n: number) {
    return new Float32Array(n).fill(1);
  },
};

/** Every outcome of one pool run, by job index. */
async function outcomes(
  pool: DecodePool,
  jobs: Parameters<DecodePool['run']>[0],
  maxPixels?: number,
): Promise<DecodeOutcome[]> {
  const out: DecodeOutcome[] = [];
  await pool.run(jobs, [], (i, outcome) => (out[i] = outcome), { maxPixels });
  return out;
}

describe('decoding on the worker pool', function () {
  let pool: DecodePool;
  before(() => {
    pool = new DecodePool({ threads: 2 });
  });
  after(() => pool.close());

  it('refuses a decompression bomb by name, fast, and skips it on request', async () => {
    const dir = tempDir();
    const good = await writeImage(path.join(dir, 'good.jpg'), 20, 16);
    const bomb = path.join(dir, 'bomb.png');
    fs.writeFileSync(bomb, bombPng(30000, 30000));
    const started = Date.now();
    const err = await expectReject(
      loadImages([good, bomb], { pool }),
      /cannot decode .*bomb\.png: 30000x30000 = 900 megapixels, over the limit of 50 megapixels; raise maxPixels to accept larger images; pass onBadImage: 'skip' to leave bad images out$/,
    );
    expect(err.message).to.contain(bomb);
    expect(Date.now() - started).to.be.below(5000); // decoding it would take minutes
    const set = await loadImages([good, bomb], { pool, onBadImage: 'skip' });
    expect(set.n).to.equal(1);
    expect(set.skipped.map((s) => s.path)).to.deep.equal([bomb]);
  });

  it('takes maxPixels from loadImages, from the pool, and per run', async () => {
    const dir = tempDir();
    const small = await writeImage(path.join(dir, 'small.jpg'), 20, 10);
    const large = await writeImage(path.join(dir, 'large.jpg'), 21, 10);
    const opts = { pool, onBadImage: 'skip' } as const;
    const limited = await loadImages([small, large], { ...opts, maxPixels: 200 });
    expect(limited.skipped.map((s) => [s.path, s.reason])).to.deep.equal([
      [large, '21x10 = 210 pixels, over the limit of 200 pixels'],
    ]);
    expect((await loadImages([small, large], { ...opts, transforms: [new Resize(8)] })).n).to.equal(
      2,
    );
    const strict = new DecodePool({ threads: 1, maxPixels: 200 });
    try {
      const set = await loadImages([small, large], { ...opts, pool: strict });
      expect(set.skipped.map((s) => s.path)).to.deep.equal([large]);
      const runs = await outcomes(strict, [{ path: large }], 210);
      expect(runs[0].ok).to.equal(true);
    } finally {
      await strict.close();
    }
    await expectReject(
      loadImages([small], { ...opts, maxPixels: 0 }),
      /loadImages: expected a positive integer or Infinity for maxPixels but received 0/,
    );
    expect(() => new DecodePool({ maxPixels: -5 })).to.throw(/DecodePool: expected a positive/);
    // Options of the wrong type, and labels no class can have, are named.
    const wrong: [unknown, string][] = [
      [null, 'Expected an options object for options but received null'],
      [{ transforms: {} }, 'Expected an array of transforms for transforms but received'],
      [{ onProgress: 'x' }, "Expected a function for onProgress but received 'x'"],
      [{ labels: [-1] }, 'Expected an integer label in 0..'],
      [{ labels: [1.5] }, 'for labels[0] but received 1.5'],
    ];
    for (const [options, message] of wrong) {
      const error = await rejection(loadImages([small], options as LoadImagesOptions));
      expect(error.message, JSON.stringify(options)).to.contain(message);
    }
  });

  it('reports a FIFO named x.jpg as a bad image instead of waiting on it forever', async function () {
    if (process.platform === 'win32') this.skip();
    const root = tempDir();
    await writeImage(path.join(root, 'alice', 'a.jpg'), 20, 16);
    const webp = path.join(root, 'alice', 'b.webp');
    fs.copyFileSync(path.join(FIXTURES, 'webp-lossy.webp'), webp);
    const gif = path.join(root, 'alice', 'c.gif'); // decodable, so a folder's image too
    fs.copyFileSync(path.join(FIXTURES, 'gif.gif'), gif);
    fs.writeFileSync(path.join(root, 'alice', 'notes.txt'), 'not an image: not listed');
    const fifo = path.join(root, 'alice', 'x.jpg');
    execFileSync('mkfifo', [fifo]);
    // The folder scan leaves it out; named directly, the decoder refuses it.
    const folder = new ImageFolderDataset(root);
    expect(folder.paths).to.deep.equal([path.join(root, 'alice', 'a.jpg'), webp, gif]);
    expect(folder.skipped).to.deep.equal([{ path: fifo, reason: 'a FIFO, not a regular file' }]);
    const paths = [...folder.paths, fifo];
    const opts = { pool, transforms: [new Resize([8, 8])] };
    await expectReject(
      loadImages(paths, opts),
      /cannot decode .*x\.jpg: not a regular file \(a FIFO\)/,
    );
    const set = await loadImages(paths, { ...opts, onBadImage: 'skip' });
    expect(set.n).to.equal(3);
    expect(set.skipped).to.deep.equal([
      { index: 3, path: fifo, reason: 'not a regular file (a FIFO)' },
    ]);
    await expectReject(embedFiles(model, [fifo]), /x\.jpg: not a regular file \(a FIFO\)/);
  });

  it('reads regular files only, and none larger than an image can be', () => {
    const dir = tempDir();
    expect(() => readImageFile(dir, 1000)).to.throw(/^not a regular file \(a directory\)$/);
    expect(() => readImageFile('/dev/null', 1000)).to.throw(/a character device/);
    expect(() => readImageFile(path.join(dir, 'none.jpg'), 1000)).to.throw(
      /cannot read \(ENOENT\)/,
    );
    const file = path.join(dir, 'f.jpg');
    fs.writeFileSync(file, Buffer.alloc(1001, 7));
    expect(() => readImageFile(file, 1000)).to.throw(/1001 bytes, more than an image/);
    expect(Buffer.from(readImageFile(file, 1001)).equals(Buffer.alloc(1001, 7))).to.equal(true);
  });

  it('decodes bytes sent with a job instead of reading its path', async () => {
    const jpeg = await encode(9, 6, gradient);
    const png = await encode(9, 6, gradient, 'image/png');
    const runs = await outcomes(
      pool,
      [
        { path: 'record#1 (no such file)', bytes: jpeg },
        { path: 'record#2', bytes: png },
        { path: 'record#3', bytes: new Uint8Array([1, 2, 3, 4]) },
        { path: 'record#4', bytes: await encode(10, 6, gradient, 'image/png') },
      ],
      54,
    );
    const direct = await decodeImage(jpeg);
    expect(runs[0]).to.deep.include({ ok: true });
    const first = runs[0] as { ok: true; image: { data: Uint8Array } };
    expect(Buffer.from(first.image.data).equals(Buffer.from(direct.data))).to.equal(true);
    const second = runs[1] as { ok: true; image: { data: Uint8Array } };
    expect(Buffer.from(second.image.data).equals(Buffer.from(rgbOf(9, 6, gradient)))).to.equal(
      true,
    );
    expect(runs[2]).to.deep.equal({
      ok: false,
      error: 'not a JPEG, PNG, WebP, GIF or BMP image (starts with 01 02 03 04)',
    });
    expect(runs[3]).to.deep.equal({
      ok: false,
      error: '10x6 = 60 pixels, over the limit of 54 pixels',
    });
  });

  it('embedFiles decodes on the pool even for one or two files, and takes maxPixels', async () => {
    const dir = tempDir();
    const files = [
      await writeImage(path.join(dir, 'a.png'), 5, 4, gradient, 'image/png'),
      await writeImage(path.join(dir, 'b.png'), 6, 4, gradient, 'image/png'),
    ];
    const run = DecodePool.prototype.run;
    let jobs = 0;
    DecodePool.prototype.run = function (this: DecodePool, ...args: Parameters<typeof run>) {
      jobs += args[0].length;
      return run.apply(this, args);
    };
    try {
      await embedFiles(model, files.slice(0, 1));
      await embedFiles(model, files);
    } finally {
      DecodePool.prototype.run = run;
    }
    expect(jobs).to.equal(3);
    await expectReject(
      embedFiles(model, files, { maxPixels: 20 }),
      /b\.png: 6x4 = 24 pixels, over the limit of 20 pixels/,
    );
  });

  it('refuses thread counts past 1024 before starting a worker', async () => {
    const run = DecodePool.prototype.run;
    let runs = 0;
    DecodePool.prototype.run = function (this: DecodePool, ...args: Parameters<typeof run>) {
      runs++;
      return run.apply(this, args);
    };
    try {
      const message =
        /^Expected an integer in 1\.\.1024 for threads but received 1000000000 of type number$/;
      expect(() => new DecodePool({ threads: 1e9 })).to.throw(RangeError, message);
      await expectReject(loadImages(['a.jpg'], { threads: 1e9 }), message);
      expect(() => new DecodePool({ threads: '2' as unknown as number })).to.throw(
        TypeError,
        "for threads but received '2'",
      );
    } finally {
      DecodePool.prototype.run = run;
    }
    expect(runs).to.equal(0);
  });

  it('is public: a pool of your own from the package, passed to loadImages', async () => {
    const dir = tempDir();
    const small = await writeImage(path.join(dir, 'small.jpg'), 10, 10);
    const file = await writeImage(path.join(dir, 'a.jpg'), 12, 10);
    const own = new PublicDecodePool({ threads: 1, maxPixels: 100 });
    try {
      const set = await loadImages([small, file], { pool: own, onBadImage: 'skip' });
      expect(set.n).to.equal(1);
      expect(set.skipped.map((s) => s.reason)).to.deep.equal([
        '12x10 = 120 pixels, over the limit of 100 pixels',
      ]);
    } finally {
      await own.close();
    }
    expect(() => new PublicDecodePool({ chunkSize: 0 })).to.throw(
      RangeError,
      /^Expected an integer in 1\.\.4096 for chunkSize but received 0 of type number$/,
    );
  });

  it('shares the workers among calls made at once, with the outcomes of running them one by one', async () => {
    const jpegs = await Promise.all([8, 10, 12].map((side) => encode(side, side, gradient)));
    const jobsOf = (r: number) =>
      Array.from({ length: 12 }, (_, k) => ({ path: `${r}-${k}`, bytes: jpegs[(r + k) % 3] }));
    const oneByOne: DecodeOutcome[][] = [];
    for (let r = 0; r < 3; r++) oneByOne.push(await outcomes(pool, jobsOf(r)));
    const atOnce = await Promise.all(
      [0, 1, 2].map(async (r) => {
        await pool.run(jobsOf(r), [new Resize(6)], () => undefined); // a different pipeline too
        return outcomes(pool, jobsOf(r));
      }),
    );
    expect(atOnce).to.deep.equal(oneByOne);
    // Two long runs at once take turns chunk by chunk: when one ends, the other is nearly done.
    const own = new DecodePool({ threads: 2, chunkSize: 1 });
    try {
      const done = [0, 0];
      const doneByOtherAtEnd: number[] = [];
      await Promise.all(
        [0, 1].map(async (r) => {
          await own.run(jobsOf(r).concat(jobsOf(r), jobsOf(r), jobsOf(r)), [], () => done[r]++);
          doneByOtherAtEnd[r] = done[1 - r];
        }),
      );
      expect(done).to.deep.equal([48, 48]);
      expect(Math.min(...doneByOtherAtEnd)).to.be.at.least(40);
    } finally {
      await own.close();
    }
  });

  it('gives a short call made during a long one the next free worker, not the end of the long one', async () => {
    const jpeg = await encode(16, 16, gradient);
    const own = new DecodePool({ threads: 2, chunkSize: 1 });
    try {
      const long = Array.from({ length: 300 }, (_, k) => ({ path: `long-${k}`, bytes: jpeg }));
      let longDone = 0;
      let firstResult!: () => void;
      const started = new Promise<void>((resolve) => (firstResult = resolve));
      const longRun = own.run(long, [], () => {
        longDone++;
        firstResult();
      });
      await started;
      const short = await outcomes(own, [{ path: 'short', bytes: jpeg }]);
      const longDoneBeforeShort = longDone;
      await longRun;
      expect(short.map((r) => r.ok)).to.deep.equal([true]);
      expect(longDone).to.equal(300);
      // Ahead of it were the long run's tasks queued on the two workers (two each), not all 300.
      expect(longDoneBeforeShort).to.be.below(50);
    } finally {
      await own.close();
    }
  });

  it('rejects a run whose task fails, while a run alongside goes on to the end', async () => {
    const jpeg = await encode(8, 8, gradient);
    const jobs = Array.from({ length: 40 }, (_, k) => ({ path: `${k}`, bytes: jpeg }));
    const unknown: DeterministicTransform = {
      random: false,
      spec: () => ({ kind: 'resize', size: 0 }),
      apply: (image) => image,
    };
    const own = new DecodePool({ threads: 2, chunkSize: 1 });
    try {
      let throws = 0;
      const failing = [
        own.run(jobs, [unknown], () => undefined),
        own.run(jobs, [], () => {
          if (++throws === 3) throw new Error('the caller gave up');
        }),
      ];
      const alongside = outcomes(own, jobs);
      await expectReject(failing[0], /size/);
      await expectReject(failing[1], /^the caller gave up$/);
      expect((await alongside).filter((r) => r.ok)).to.have.length(40);
    } finally {
      await own.close();
    }
  });

  it('rejects, naming the cause, the runs in progress and those starting when closed', async () => {
    const jpeg = await encode(8, 8, gradient);
    const jobs = Array.from({ length: 40 }, (_, k) => ({ path: `${k}`, bytes: jpeg }));
    const own = new DecodePool({ threads: 2, chunkSize: 1 });
    let closing: Promise<void> | undefined;
    const running = own.run(jobs, [], () => (closing ??= own.close()));
    const alongside = own.run(jobs, [], () => undefined);
    const inProgress = /^DecodePool: the pool was closed while this run was in progress$/;
    await expectReject(running, inProgress);
    await expectReject(alongside, inProgress);
    await closing;
    const starting = own.run(jobs, [], () => undefined);
    const closingAgain = own.close();
    await expectReject(starting, /^DecodePool: the pool was closed before this run started$/);
    await closingAgain;
    const after = await outcomes(own, jobs.slice(0, 2));
    expect(after.map((r) => r.ok)).to.deep.equal([true, true]);
    await own.close();
  });

  it('works again after the pool is closed (new workers load sharp again)', async () => {
    const jpeg = await encode(8, 8, gradient);
    const own = new DecodePool({ threads: 2 });
    for (let round = 0; round < 3; round++) {
      const runs = await outcomes(own, [
        { path: 'a', bytes: jpeg },
        { path: 'b', bytes: jpeg },
      ]);
      expect(runs.map((r) => r.ok)).to.deep.equal([true, true]);
      await own.close();
    }
  });
});

// `npm run bench -- data`: decoding (ours with sharp, jimp's alongside; one thread, then the
// pool), a 12-megapixel photo, cache read + batch assembly, and whole epochs against
// torchvision's ImageFolder + DataLoader(num_workers=2). The JPEGs are the synthetic generator's
// (250x250 faces, 100 identities x 20), made once under the temp folder, as is the photo.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { DataLoader } from '../lib/data/data-loader';
import { DecodePool } from '../lib/data/decode-pool';
import { ImageCache } from '../lib/data/image-cache';
import { ImageFolderDataset } from '../lib/data/image-folder-dataset';
import { decodeImage } from '../lib/data/image-decoder';
import { loadImages } from '../lib/data/load-images';
import { Random } from '../lib/util/random';
import { Normalize } from '../lib/data/transforms/normalize';
import { RandomHorizontalFlip, applyFlips } from '../lib/data/transforms/random-horizontal-flip';
import { Resize } from '../lib/data/transforms/resize';
import { generateSyntheticFaces } from '../lib/synth/generate';
import { encodeJpeg } from '../lib/synth/jpeg';
import { describeMachine, median } from './machine';

const CLASSES = Number(process.env.BENCH_DATA_CLASSES ?? 100);
const PER_CLASS = Number(process.env.BENCH_DATA_PER_CLASS ?? 20);
const ROOT = path.join(os.tmpdir(), `sphereface-bench-synth-faces-${CLASSES}x${PER_CLASS}`);
const PHOTO = path.join(os.tmpdir(), 'sphereface-bench-photo-4000x3000.jpg');
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const BATCH = 256;
const THREADS = Number(process.env.BENCH_DATA_THREADS ?? 2);

async function ensureFolder(): Promise<string> {
  const made = await generateSyntheticFaces({
    out: ROOT,
    identities: CLASSES,
    images: PER_CLASS,
    heldOutIdentities: 2,
    heldOutImages: 2,
    folds: 1,
    pairsPerFold: 1,
    workers: THREADS,
  });
  return made.trainDir;
}

/**
 * A 4000x3000 photo-like JPEG (quality 85, about 2 MB): one of the synthetic faces enlarged,
 * with grain, so the file is as busy as a camera's.
 */
async function ensurePhoto(face: string): Promise<Uint8Array> {
  if (!fs.existsSync(PHOTO)) {
    const small = await decodeImage(fs.readFileSync(face));
    const big = new Resize([3000, 4000]).apply(small).data;
    const rng = new Random(7);
    for (let i = 0; i < big.length; i++)
      big[i] = Math.max(0, Math.min(255, big[i] + rng.int(25) - 12));
    fs.writeFileSync(`${PHOTO}.tmp`, await encodeJpeg(big, 4000, 3000));
    fs.renameSync(`${PHOTO}.tmp`, PHOTO);
  }
  return fs.readFileSync(PHOTO);
}

/** Images per second and CPU milliseconds (all threads) per image of `count` images in `run`. */
async function rate(count: number, run: () => Promise<void>): Promise<[number, number]> {
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  await run();
  const used = process.cpuUsage(cpu);
  return [count / seconds(t), (used.user + used.system) / 1000 / count];
}

/** Median rate and CPU time over `reps` runs, formatted. */
async function measure(count: number, reps: number, run: () => Promise<void>): Promise<string> {
  const rates: number[] = [];
  const cpus: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const [r, c] = await rate(count, run);
    rates.push(r);
    cpus.push(c);
  }
  const r = median(rates);
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)} img/s (${median(cpus).toFixed(2)} ms CPU per image, median of ${reps})`;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  console.log(`machine: ${describeMachine()}`);
  const root = await ensureFolder();
  const paths = new ImageFolderDataset(root).paths;
  const bytes = paths.slice(0, 200).reduce((s, p) => s + fs.statSync(p).size, 0) / 200;
  console.log(
    `folder: ${root}: ${paths.length} synthetic JPEGs of 250x250, mean ${(bytes / 1024).toFixed(1)} KB`,
  );

  // 1. One thread: decode only, then decode + resize to 96x96; jimp's, then ours.
  const files = paths.slice(0, 150).map((p) => fs.readFileSync(p));
  const resize = new Resize(96);
  const each = (fn: (file: Buffer) => Promise<unknown>) => async () => {
    for (const f of files) await fn(f);
  };
  const oneThread: [string, (file: Buffer) => Promise<unknown>][] = [
    ['decode, 1 thread, jimp (Jimp.fromBuffer)', (f) => Jimp.fromBuffer(f)],
    ['decode, 1 thread, ours (decodeImage: sharp)', (f) => decodeImage(f)],
    [
      'decode+resize, 1 thread, jimp.read + jimp.resize',
      async (f) => (await Jimp.fromBuffer(f)).resize({ w: 96, h: 96 }),
    ],
    [
      'decode+resize, 1 thread, ours (decodeImage + Resize(96))',
      async (f) => resize.apply(await decodeImage(f)),
    ],
  ];
  for (const [what, fn] of oneThread)
    console.log(`${what}: ${await measure(files.length, 3, each(fn))}`);

  // 2. The pool on THREADS workers, whole folder: decode only (DecodePool.run, pixels handed
  // back and dropped), then decode + Resize(96) packed into a set (loadImages). The first run
  // starts the workers. CPU time counts all threads of the process.
  const pool = new DecodePool({ threads: THREADS });
  const jobs = paths.map((p) => ({ path: p }));
  const decodeOnly = await measure(paths.length, 3, () => pool.run(jobs, [], () => undefined));
  console.log(`decode, pool of ${THREADS} workers, ${paths.length} images: ${decodeOnly}`);
  const withResize = await measure(paths.length, 3, async () => {
    await loadImages(paths, { transforms: [resize], pool });
  });
  console.log(`decode+resize, pool of ${THREADS} workers, ${paths.length} images: ${withResize}`);
  await pool.close();

  // A 12-megapixel photo, decode only, one thread.
  const photo = await ensurePhoto(paths[0]);
  console.log(`photo: ${PHOTO}, 4000x3000, ${(photo.length / 2 ** 20).toFixed(1)} MiB`);
  console.log(
    `decode 12 MP, jimp: ${await measure(1, 3, async () => void (await Jimp.fromBuffer(photo)))}`,
  );
  console.log(
    `decode 12 MP, ours: ${await measure(1, 3, async () => void (await decodeImage(photo)))}`,
  );

  // 3. Cache read + batch assembly: 10,000 aligned-size (112x96) images in one cache file.
  const n = 10000;
  const set = {
    images: new Uint8Array(n * 112 * 96 * 3),
    n,
    height: 112,
    width: 96,
    labels: new Int32Array(n),
  };
  const fill = new Random(9);
  for (let i = 0; i < set.images.length; i += 4096) set.images[i] = fill.int(256);
  for (let i = 0; i < n; i++) set.labels[i] = i % 1000;
  const cacheFile = path.join(os.tmpdir(), `sphereface-bench-cache-${process.pid}.sfcache`);
  const cache = new ImageCache(cacheFile);
  await cache.write('bench', {
    ...set,
    kept: Int32Array.from({ length: n }, (_, i) => i),
    skipped: [],
  });
  const readRates: number[] = [];
  const epochRates: number[] = [];
  const bothRates: number[] = [];
  const bothCpuRates: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const cpu = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const found = await cache.read('bench');
    if (!('hit' in found)) throw new Error(`cache miss: ${found.miss}`);
    const t1 = seconds(t0);
    const loader = new DataLoader(found.hit, {
      batchSize: BATCH,
      seed: rep,
      transforms: [new RandomHorizontalFlip()],
    });
    const t2 = process.hrtime.bigint();
    let seen = 0;
    for await (const b of loader.batches(0)) seen += b.n;
    const t3 = seconds(t2);
    readRates.push(n / t1);
    epochRates.push(seen / t3);
    bothRates.push(n / (t1 + t3));
    const used = process.cpuUsage(cpu);
    bothCpuRates.push(n / ((used.user + used.system) / 1e6));
  }
  fs.rmSync(cacheFile, { force: true });
  console.log(
    `cache read (${n} x 112x96, ${((n * 112 * 96 * 3) / 2 ** 20).toFixed(0)} MiB, CRC-32 checked): ${median(readRates).toFixed(0)} img/s; ` +
      `shuffled batch assembly (${BATCH}): ${median(epochRates).toFixed(0)} img/s; read + one epoch: ${median(bothRates).toFixed(0)} img/s ` +
      `(${median(bothCpuRates).toFixed(0)} img per CPU-second)`,
  );

  // 4. Whole epochs (decode, Resize(96), random flip, normalised float batches) vs torchvision.
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-bench-epoch-'));
  const normalize = new Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
  const epochs = 3;
  const ours: number[] = [];
  const oursCpu: number[] = [];
  let loaded = null as Awaited<ReturnType<typeof loadImages>> | null;
  for (let e = 0; e < epochs; e++) {
    const t = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    // Every epoch asks for the set as a fresh run would: the first decodes, the rest hit the cache.
    loaded = await loadImages(paths, {
      transforms: [resize],
      labels: new ImageFolderDataset(root).labels,
      cacheDir,
      threads: THREADS,
    });
    const loader = new DataLoader(loaded, {
      batchSize: BATCH,
      seed: 1,
      transforms: [new RandomHorizontalFlip()],
    });
    let seen = 0;
    for await (const b of loader.batches(e)) {
      const pixels = b.images.slice(); // mirror a copy: the set must stay as cached
      applyFlips(pixels, b.n, loader.height, loader.width, b.flip);
      normalize.apply(pixels, b.n, loader.height, loader.width);
      seen += b.n;
    }
    if (seen !== paths.length) throw new Error('short epoch');
    ours.push(seconds(t));
    const used = process.cpuUsage(cpu);
    oursCpu.push((used.user + used.system) / 1e6);
  }
  fs.rmSync(cacheDir, { recursive: true, force: true });
  console.log(
    `ours, epochs 1..${epochs}: ${ours.map((s) => `${s.toFixed(2)} s`).join(', ')} wall, ` +
      `${oursCpu.map((s) => `${s.toFixed(2)} s`).join(', ')} CPU (${(paths.length / ours[1]).toFixed(0)} img/s from epoch 2; epoch 1 decodes and writes the cache)`,
  );
  const peer = spawnSync(
    PYTHON,
    [
      path.join(__dirname, '..', '..', 'bench', 'peer', 'torchvision_epoch.py'),
      root,
      String(epochs),
      String(BATCH),
      '2',
    ],
    {
      encoding: 'utf8',
    },
  );
  if (peer.status !== 0) {
    console.log(
      `torchvision peer unavailable (${PYTHON}): ${(peer.stderr || peer.error?.message || '').trim().split('\n').pop()}`,
    );
    return;
  }
  const theirs = JSON.parse(peer.stdout.trim().split('\n').pop()!) as {
    seconds: number[];
    cpu: number[];
    torch: string;
  };
  console.log(
    `torchvision ImageFolder + DataLoader(num_workers=2), torch ${theirs.torch}, epochs 1..${epochs}: ${theirs.seconds.map((s) => `${s.toFixed(2)} s`).join(', ')} wall, ` +
      `${theirs.cpu.map((s) => `${s.toFixed(2)} s`).join(', ')} CPU`,
  );
  const ratio = (a: number[], b: number[], i: number) => (a[i] / b[i]).toFixed(1);
  console.log(
    `speed-up (wall): epoch 1 ${ratio(theirs.seconds, ours, 0)}x, epoch 2 ${ratio(theirs.seconds, ours, 1)}x, epoch 3 ${ratio(theirs.seconds, ours, 2)}x; ` +
      `(CPU): ${[0, 1, 2].map((i) => `${ratio(theirs.cpu, oursCpu, i)}x`).join(', ')}`,
  );
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

// `npm run bench -- data`: decode + resize throughput (one thread, then the pool), cache read +
// batch assembly, and whole epochs against torchvision's ImageFolder + DataLoader(num_workers=2).
// The JPEG folder is generated once (250x250, face-sized files) under the temp folder.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { Jimp } from 'jimp';
import { DataLoader } from '../lib/data/data-loader';
import { ImageCache } from '../lib/data/image-cache';
import { ImageFolderDataset } from '../lib/data/image-folder-dataset';
import { decodeImage } from '../lib/data/image-decoder';
import { loadImages } from '../lib/data/load-images';
import { Random } from '../lib/util/random';
import { Normalize } from '../lib/data/transforms/normalize';
import { RandomHorizontalFlip, applyFlips } from '../lib/data/transforms/random-horizontal-flip';
import { Resize } from '../lib/data/transforms/resize';
import { describeMachine, median } from './machine';

const CLASSES = Number(process.env.BENCH_DATA_CLASSES ?? 100);
const PER_CLASS = Number(process.env.BENCH_DATA_PER_CLASS ?? 20);
const ROOT = path.join(os.tmpdir(), `sphereface-bench-jpegs-${CLASSES}x${PER_CLASS}`);
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const BATCH = 256;
const THREADS = Number(process.env.BENCH_DATA_THREADS ?? 2);

/** Smooth shapes over a gradient plus mild noise: JPEG sizes like LFW's (10-20 KB). */
function syntheticImage(rng: Random): Uint8Array {
  const w = 250;
  const h = 250;
  const data = new Uint8Array(w * h * 4);
  const base = [rng.int(256), rng.int(256), rng.int(256)];
  const blobs = Array.from({ length: 6 }, () => ({
    x: rng.int(w),
    y: rng.int(h),
    r: 20 + rng.int(70),
    c: [rng.int(256), rng.int(256), rng.int(256)],
  }));
  const col = new Float64Array(3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      col[0] = base[0] * (1 - y / h / 2);
      col[1] = base[1] * (1 - x / w / 2);
      col[2] = base[2];
      for (const b of blobs) {
        const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r);
        if (d2 < 1) {
          const t = 1 - d2;
          for (let c = 0; c < 3; c++) col[c] = col[c] * (1 - t) + b.c[c] * t;
        }
      }
      const o = (y * w + x) * 4;
      for (let c = 0; c < 3; c++)
        data[o + c] = Math.max(0, Math.min(255, col[c] + (rng.next() - 0.5) * 12));
      data[o + 3] = 255;
    }
  }
  return data;
}

function ensureFolder(): string[] {
  const marker = path.join(ROOT, '.complete');
  if (!fs.existsSync(marker)) {
    fs.rmSync(ROOT, { recursive: true, force: true });
    const rng = new Random(1234);
    for (let c = 0; c < CLASSES; c++) {
      const dir = path.join(ROOT, `id${String(c).padStart(5, '0')}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < PER_CLASS; i++) {
        const encoded = jpeg.encode({ data: syntheticImage(rng), width: 250, height: 250 }, 90);
        fs.writeFileSync(path.join(dir, `${String(i + 1).padStart(3, '0')}.jpg`), encoded.data);
      }
    }
    fs.writeFileSync(marker, '');
  }
  return new ImageFolderDataset(ROOT).paths;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  console.log(`machine: ${describeMachine()}`);
  const paths = ensureFolder();
  const bytes = paths.slice(0, 200).reduce((s, p) => s + fs.statSync(p).size, 0) / 200;
  console.log(
    `folder: ${ROOT}: ${paths.length} JPEGs of 250x250, mean ${(bytes / 1024).toFixed(1)} KB`,
  );

  // 1. One thread: jimp's own read + resize, and our decode + Pillow-style resize.
  const sample = paths.slice(0, 150);
  const files = sample.map((p) => fs.readFileSync(p));
  const resize = new Resize(96);
  const jimpRates: number[] = [];
  const oursRates: number[] = [];
  const jimpCpu: number[] = [];
  const oursCpu1: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let t = process.hrtime.bigint();
    let cpu = process.cpuUsage();
    for (const f of files) (await Jimp.fromBuffer(f)).resize({ w: 96, h: 96 });
    jimpRates.push(files.length / seconds(t));
    let used = process.cpuUsage(cpu);
    jimpCpu.push((used.user + used.system) / 1000 / files.length);
    t = process.hrtime.bigint();
    cpu = process.cpuUsage();
    for (const f of files) resize.apply(await decodeImage(f));
    oursRates.push(files.length / seconds(t));
    used = process.cpuUsage(cpu);
    oursCpu1.push((used.user + used.system) / 1000 / files.length);
  }
  console.log(
    `decode+resize, 1 thread, jimp.read + jimp.resize: ${median(jimpRates).toFixed(0)} img/s (${median(jimpCpu).toFixed(2)} ms CPU per image)`,
  );
  console.log(
    `decode+resize, 1 thread, ours (jpeg-js RGB + Resize(96)): ${median(oursRates).toFixed(0)} img/s (${median(oursCpu1).toFixed(2)} ms CPU per image)`,
  );

  // 2. The pool on THREADS workers, whole folder (includes worker start-up). CPU time (all
  // threads of the process) per image is printed too: on a shared machine it says what the
  // pool would do with its cores to itself.
  const poolRates: number[] = [];
  const poolCpu: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const cpu = process.cpuUsage();
    const t = process.hrtime.bigint();
    await loadImages(paths, { transforms: [resize], threads: THREADS });
    poolRates.push(paths.length / seconds(t));
    const used = process.cpuUsage(cpu);
    poolCpu.push((used.user + used.system) / 1000 / paths.length);
  }
  console.log(
    `decode+resize, pool of ${THREADS} workers, ${paths.length} images: ${median(poolRates).toFixed(0)} img/s ` +
      `(median of 3; ${median(poolCpu).toFixed(2)} ms CPU per image, i.e. ${((THREADS * 1000) / median(poolCpu)).toFixed(0)} img/s on ${THREADS} idle cores)`,
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
      labels: new ImageFolderDataset(ROOT).labels,
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
      ROOT,
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

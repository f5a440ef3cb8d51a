// `npm run bench -- store`: the on-disk image store at the paper's scale. From the synthetic
// generator's 250x250 JPEGs (generated once, then replicated by index), on BENCH_STORE_THREADS
// decode workers (default 2):
//   1. prepare's images/s against loadImages' (the in-memory path), against prepare with sharp
//      decoding every JPEG, and optionally against an older checkout's pool (BENCH_STORE_BASELINE);
//   2. a BENCH_STORE_IMAGES (default 200,000) store at 112x96 (6.5 GB, past the 4 GiB that one
//      Uint8Array held), its prepare timed;
//   3. whole shuffled epochs with RandomCrop(padding 4) and flips through the DataLoader, in a
//      fresh process: images/s and peak RSS;
//   4. sphere-cnn4 training steps fed from the store against steps fed from memory.
// The big store is deleted afterwards (BENCH_STORE_KEEP=1 keeps it, and a rerun reuses it).
// BENCH_STORE_READ=0 stops after 2 (prepare alone).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DecodePool } from '../lib/data/decode-pool';
import { ImageFolderDataset } from '../lib/data/image-folder-dataset';
import { loadImages } from '../lib/data/load-images';
import type { ImageSource } from '../lib/data/store/image-source';
import { prepareImageStore } from '../lib/data/store/prepare-image-store';
import { CenterCrop } from '../lib/data/transforms/center-crop';
import { Resize } from '../lib/data/transforms/resize';
import { native } from '../lib/native';
import { generateSyntheticFaces } from '../lib/synth/generate';
import { describeMachine, median } from './machine';

const env = process.env;
const IMAGES = Number(env.BENCH_STORE_IMAGES ?? 200000);
const DECODE_IMAGES = Number(env.BENCH_STORE_DECODE_IMAGES ?? 3000);
const IDENTITIES = Number(env.BENCH_STORE_IDENTITIES ?? 50);
const PER_IDENTITY = Number(env.BENCH_STORE_PER_IDENTITY ?? 10);
const THREADS = Number(env.BENCH_STORE_THREADS ?? 2);
const STEPS = Number(env.BENCH_STORE_STEPS ?? 5);
const ROUNDS = env.BENCH_STORE_ROUNDS ?? '16';
const READ = env.BENCH_STORE_READ !== '0';
const BASELINE = env.BENCH_STORE_BASELINE ? path.resolve(env.BENCH_STORE_BASELINE) : undefined;
const ROOT = path.join(os.tmpdir(), 'sphereface-bench-store');
// The 112x96 nets' preprocessing without landmarks (lib/cli/preprocess.ts).
const TRANSFORMS = [new Resize(112), new CenterCrop([112, 96])];

interface EpochResult {
  epochSeconds: number[];
  imagesPerSecond: number;
  peakRssMb: number;
  rssOpenMb: number;
  cpuSeconds: number;
}

interface StepResult {
  steps: number;
  storeStepMs: number;
  memoryStepMs: number;
  ratio: number;
  storeWaitMs: number;
  memoryWaitMs: number;
}

/** `count` images cycling through `paths`: replicated sources without replicated files. */
function replicated(folder: ImageFolderDataset, count: number): ImageSource {
  const k = folder.paths.length;
  return {
    kind: 'replicated',
    location: folder.root,
    length: count,
    labels: Int32Array.from({ length: count }, (_, i) => folder.labels[i % k]),
    classNames: folder.classNames,
    fingerprint: async () => ({ files: folder.paths.map((p) => path.relative(folder.root, p)) }),
    read: async (start, end) =>
      Array.from({ length: end - start }, (_, j) => ({
        name: folder.paths[(start + j) % k],
        label: folder.labels[(start + j) % k],
      })),
    close: async () => {},
  };
}

function decoderName(): string {
  const jpeg = native().jpegDecoder();
  return jpeg
    ? `plain JPEGs: ${jpeg} in the workers; the rest: sharp`
    : 'sharp (built without libjpeg-turbo)';
}

function child<T>(script: string, args: string[]): T {
  const result = spawnSync(process.execPath, [path.join(__dirname, script), ...args], {
    encoding: 'utf8',
    env: { ...env, OMP_NUM_THREADS: String(THREADS), SPHEREFACE_NUM_THREADS: String(THREADS) },
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) throw new Error(`${script} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as T;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

interface Side {
  label: string;
  rates: number[];
  cpuMs: number[];
}

function sideOf(label: string): Side {
  return { label, rates: [], cpuMs: [] };
}

/** Runs `work` on `images` images once, recording images/s and CPU ms an image. */
async function timeSide(side: Side, images: number, work: () => Promise<void>): Promise<void> {
  const t = performance.now();
  const c = process.cpuUsage();
  await work();
  side.rates.push(images / ((performance.now() - t) / 1000));
  side.cpuMs.push(cpuMs(c) / images);
}

/** A decode pool whose workers start with SPHEREFACE_NATIVE_JPEG=0 (sharp decodes every JPEG). */
async function sharpOnlyPool(paths: string[]): Promise<DecodePool> {
  const before = env.SPHEREFACE_NATIVE_JPEG;
  env.SPHEREFACE_NATIVE_JPEG = '0';
  const pool = new DecodePool({ threads: THREADS });
  try {
    await loadImages(paths.slice(0, 64), { transforms: TRANSFORMS, pool }); // workers start here
  } finally {
    if (before === undefined) delete env.SPHEREFACE_NATIVE_JPEG;
    else env.SPHEREFACE_NATIVE_JPEG = before;
  }
  return pool;
}

/**
 * Decoding to 112x96 on the same images, the sides alternating, median of 3
 * (BENCH_STORE_DECODE_IMAGES=0 skips it): prepareImageStore and loadImages as they run (plain
 * JPEGs through libjpeg-turbo in the workers), prepareImageStore with sharp decoding everything,
 * and, with BENCH_STORE_BASELINE=<a checkout built with tsc>, that checkout's loadImages in a
 * process of its own (bench/store-baseline-child.ts; the jpeg-js pool: the parent of cc55189).
 */
async function compareDecoding(folder: ImageFolderDataset): Promise<string> {
  const paths = Array.from({ length: DECODE_IMAGES }, (_, i) => folder.paths[i % folder.length]);
  const fast = new DecodePool({ threads: THREADS });
  const sharpOnly = await sharpOnlyPool(paths);
  await loadImages(paths.slice(0, 64), { transforms: TRANSFORMS, pool: fast });
  const prepareOn = async (pool: DecodePool) => {
    const out = fs.mkdtempSync(path.join(ROOT, 'small-'));
    const store = await prepareImageStore({
      source: replicated(folder, DECODE_IMAGES),
      out,
      transforms: TRANSFORMS,
      pool,
    });
    store.close();
    fs.rmSync(out, { recursive: true, force: true });
  };
  const prepare = sideOf('prepareImageStore');
  const load = sideOf('loadImages');
  const prepareSharp = sideOf('prepareImageStore, sharp only');
  const baseline = sideOf(`baseline loadImages (${BASELINE})`);
  const sides = [prepare, load, prepareSharp, ...(BASELINE ? [baseline] : [])];
  for (let rep = 0; rep < 3; rep++) {
    await timeSide(prepare, DECODE_IMAGES, () => prepareOn(fast));
    await timeSide(load, DECODE_IMAGES, async () => {
      await loadImages(paths, { transforms: TRANSFORMS, pool: fast });
    });
    await timeSide(prepareSharp, DECODE_IMAGES, () => prepareOn(sharpOnly));
    if (BASELINE) {
      const round = child<{ rates: number[]; cpuMs: number[] }>('store-baseline-child.js', [
        BASELINE,
        String(THREADS),
        '1',
        ...paths,
      ]);
      baseline.rates.push(...round.rates);
      baseline.cpuMs.push(...round.cpuMs);
    }
  }
  await Promise.all([fast.close(), sharpOnly.close()]);
  const prepareRate = median(prepare.rates);
  console.log(`decode ${DECODE_IMAGES} images to 112x96, rounds alternating, median of 3:`);
  for (const side of sides) {
    const rate = median(side.rates);
    console.log(
      `  ${side.label}: ${rate.toFixed(0)} img/s (${side.rates.map((r) => r.toFixed(0)).join(', ')}), ` +
        `${median(side.cpuMs).toFixed(2)} ms CPU/img; prepareImageStore is ${(prepareRate / rate).toFixed(2)}x`,
    );
  }
  const against = BASELINE ? baseline : prepareSharp;
  return `${prepareRate.toFixed(0)} img/s, ${(prepareRate / median(against.rates)).toFixed(2)}x ${against.label}`;
}

async function main(): Promise<void> {
  console.log(`machine: ${describeMachine()}`);
  console.log(`decode threads ${THREADS}, decoder: ${decoderName()}`);
  const synth = await generateSyntheticFaces({
    out: path.join(ROOT, `synth-${IDENTITIES}x${PER_IDENTITY}`),
    identities: IDENTITIES,
    images: PER_IDENTITY,
    heldOutIdentities: 2,
    heldOutImages: 2,
    folds: 1,
    pairsPerFold: 1,
    seed: 1,
    workers: THREADS,
  });
  const folder = new ImageFolderDataset(synth.trainDir);
  const meanKb = folder.paths.reduce((s, p) => s + fs.statSync(p).size, 0) / folder.length / 1024;
  console.log(
    `source: ${folder.length} synthetic 250x250 JPEGs (mean ${meanKb.toFixed(1)} KB), replicated by index`,
  );

  const decoding = DECODE_IMAGES > 0 ? await compareDecoding(folder) : undefined;

  // 2. The big store.
  const dir = path.join(ROOT, `store-${IMAGES}`);
  let t = performance.now();
  const cpu = process.cpuUsage();
  let reported = 0;
  const store = await prepareImageStore({
    source: replicated(folder, IMAGES),
    out: dir,
    transforms: TRANSFORMS,
    threads: THREADS,
    onProgress: (e) => {
      if (e.type === 'decode' && e.done >= reported + IMAGES / 10) {
        reported = e.done;
        const s = (performance.now() - t) / 1000;
        console.log(`  ${e.done} / ${e.total} (${(e.done / s).toFixed(0)} img/s)`);
      }
    },
  });
  const seconds = (performance.now() - t) / 1000;
  const bytes = store.n * store.height * store.width * 3;
  console.log(
    `store of ${store.n} x ${store.height}x${store.width}: ${(bytes / 1e9).toFixed(2)} GB in ${store.shards} shards of ${store.imagesPerShard}; ` +
      (store.preparation!.reused
        ? 'reused (already prepared)'
        : `prepared in ${seconds.toFixed(0)} s (${(store.n / seconds).toFixed(0)} img/s, ` +
          `${(cpuMs(cpu) / store.n).toFixed(2)} ms CPU/img)`),
  );
  store.close();
  if (!READ) {
    if (env.BENCH_STORE_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
    return;
  }

  try {
    // 3. Epochs in a fresh process: the first also pulls the store into the page cache if it left.
    t = performance.now();
    const epoch = child<EpochResult>('store-epoch-child.js', [dir, '256', '2']);
    console.log(
      `DataLoader epochs (batch 256, shuffled, RandomCrop padding 4, flips): ` +
        `${epoch.epochSeconds.map((s) => `${s.toFixed(1)} s`).join(', ')}; ` +
        `best ${epoch.imagesPerSecond.toFixed(0)} img/s; peak RSS ${epoch.peakRssMb.toFixed(0)} MB ` +
        `(${epoch.rssOpenMb.toFixed(0)} MB with the store open, addon loaded); ${epoch.cpuSeconds.toFixed(1)} s CPU`,
    );

    // 4. Training steps from the store and from memory.
    const step = child<StepResult>('store-step-child.js', [dir, String(STEPS), ROUNDS, '20000']);
    console.log(
      `sphere-cnn4 step (batch 64, median of ${step.steps}): from the store ${step.storeStepMs.toFixed(1)} ms, ` +
        `from memory ${step.memoryStepMs.toFixed(1)} ms: ratio ${step.ratio.toFixed(3)}; waiting for the batch ` +
        `${step.storeWaitMs.toFixed(2)} / ${step.memoryWaitMs.toFixed(2)} ms`,
    );
    console.log('\n| figure | value | target |');
    console.log('|---|---|---|');
    console.log(
      `| decode to 112x96, prepareImageStore | ${decoding ?? 'skipped'} | >= 2.5x the jpeg-js pool |`,
    );
    console.log(
      `| ${IMAGES.toLocaleString('en')}-image store, ${(bytes / 1e9).toFixed(1)} GB | ${store.preparation!.reused ? 'reused' : `${seconds.toFixed(0)} s, ${(store.n / seconds).toFixed(0)} img/s`} | |`,
    );
    console.log(
      `| shuffled epoch, crop + flip | ${epoch.imagesPerSecond.toFixed(0)} img/s | >= 25,000 img/s |`,
    );
    console.log(`| peak RSS during the epochs | ${epoch.peakRssMb.toFixed(0)} MB | <= 600 MB |`);
    console.log(
      `| sphere-cnn4 step, store / memory | ${step.storeStepMs.toFixed(1)} / ${step.memoryStepMs.toFixed(1)} ms (${((step.ratio - 1) * 100).toFixed(1)} %); batch wait ${step.storeWaitMs.toFixed(2)} / ${step.memoryWaitMs.toFixed(2)} ms | within 2 % |`,
    );
  } finally {
    if (env.BENCH_STORE_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

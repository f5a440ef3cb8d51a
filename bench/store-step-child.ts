// One side of bench/store.bench.ts: sphere-cnn4 training steps fed by a DataLoader over the image
// store against the same steps fed from an in-memory ImageSet of the store's first images, in
// alternating rounds in one process. The time of a step is from asking the loader for a batch to
// the step's end, so whatever the loader fails to hide behind the previous step shows; the wait
// (asking for a batch until it is there) and the process's CPU time per step (all threads: what
// the gathers add to the step's own work, and less disturbed by a loaded machine than wall time)
// are reported on their own too.
// Prints one JSON line. Usage: node dist/bench/store-step-child.js STORE_DIR STEPS ROUNDS MEMORY_IMAGES
import { DataLoader } from '../lib/data/data-loader';
import { openImageStore } from '../lib/data/store/image-store';
import { CenterCrop } from '../lib/data/transforms/center-crop';
import { RandomCrop } from '../lib/data/transforms/random-crop';
import { RandomHorizontalFlip } from '../lib/data/transforms/random-horizontal-flip';
import type { ImageSet } from '../lib/data/types';
import { setNumThreads } from '../lib/info';
import { inputSizeOf } from '../lib/models/archs';
import { createModel } from '../lib/models/model';
import { median } from './machine';

const BATCH = 64;

async function main(): Promise<void> {
  const [dir, stepsText, roundsText, memoryText] = process.argv.slice(2);
  const steps = Number(stepsText);
  setNumThreads(Number(process.env.OMP_NUM_THREADS ?? 2));
  const store = await openImageStore(dir, { verify: false });
  const m = Math.min(store.n, Number(memoryText));
  const set: ImageSet = {
    images: await store.read(Array.from({ length: m }, (_, i) => i)),
    n: m,
    height: store.height,
    width: store.width,
    labels: store.labels.slice(0, m),
  };
  const { height, width } = inputSizeOf('sphere-cnn4');
  const options = {
    batchSize: BATCH,
    seed: 3,
    classes: store.classes,
    transforms: [
      new CenterCrop([height, width]),
      new RandomCrop([height, width], { padding: 4 }),
      new RandomHorizontalFlip(),
    ],
  };
  const loaders = { store: new DataLoader(store, options), memory: new DataLoader(set, options) };
  const model = await createModel({
    arch: 'sphere-cnn4',
    classes: store.classes,
    head: { kind: 'sphere', m: 4 },
    device: 'cpu',
    seed: 1,
  });
  const times: Record<'store' | 'memory', number[]> = { store: [], memory: [] };
  const waits: Record<'store' | 'memory', number[]> = { store: [], memory: [] };
  const cpu: Record<'store' | 'memory', number[]> = { store: [], memory: [] };
  let epoch = 0;
  // Round 0 is warm-up (first-touch allocations, thread pools), not timed.
  for (let round = 0; round <= Number(roundsText); round++) {
    for (const side of round % 2
      ? (['store', 'memory'] as const)
      : (['memory', 'store'] as const)) {
      let batches = loaders[side].batches(epoch++);
      let last = performance.now();
      let lastCpu = process.cpuUsage();
      for (let i = 0; i < steps + 1; i++) {
        const asked = performance.now();
        let next = await batches.next();
        if (next.done) {
          batches = loaders[side].batches(epoch++);
          next = await batches.next();
        }
        const got = performance.now();
        await model.trainStep({ ...next.value, lr: 0.01, lambda: 5 });
        const now = performance.now();
        // The first step waits on an empty prefetch queue.
        const used = process.cpuUsage(lastCpu);
        if (i > 0 && round > 0) {
          times[side].push(now - last);
          waits[side].push(got - asked);
          cpu[side].push((used.user + used.system) / 1000);
        }
        last = now;
        lastCpu = process.cpuUsage();
      }
      await batches.return(undefined);
    }
  }
  model.dispose();
  store.close();
  const storeMs = median(times.store);
  const memoryMs = median(times.memory);
  console.log(
    JSON.stringify({
      batch: BATCH,
      steps: times.store.length,
      storeStepMs: storeMs,
      memoryStepMs: memoryMs,
      ratio: storeMs / memoryMs,
      storeCpuMs: median(cpu.store),
      memoryCpuMs: median(cpu.memory),
      storeWaitMs: median(waits.store),
      memoryWaitMs: median(waits.memory),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

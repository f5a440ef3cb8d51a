// One side of bench/embed.bench.ts: times model.embed for one arch and batch size in a fresh
// process and prints one JSON line. Usage: node dist/bench/embed-child.js ARCH BATCH CALLS
import { createModel, inputSizeOf, setNumThreads } from '../lib';
import type { Arch } from '../lib';
import { median } from './machine';
import { randomBatch } from './random-batch';

async function main(): Promise<void> {
  const [arch, batchText, callsText] = process.argv.slice(2);
  const batch = Number(batchText);
  const calls = Number(callsText);
  setNumThreads(Number(process.env.OMP_NUM_THREADS ?? 2));
  const { height, width } = inputSizeOf(arch as Arch);
  const model = await createModel({
    arch: arch as Arch,
    classes: 10,
    head: { kind: 'sphere', m: 4 },
    device: 'cpu',
    seed: 1,
  });
  const { images } = randomBatch(batch, height, width, 10);
  const times: number[] = [];
  let faultsAtStart = 0;
  for (let i = 0; i < calls + 2; i++) {
    if (i === 2) faultsAtStart = process.resourceUsage().minorPageFault;
    const started = process.hrtime.bigint();
    await model.embed(images, batch);
    // Warm-up: first-touch allocations, oneDNN primitive creation.
    if (i >= 2) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const faultsPerCall = (process.resourceUsage().minorPageFault - faultsAtStart) / calls;
  const callMs = median(times);
  console.log(
    JSON.stringify({
      side: 'sphereface',
      callMs,
      imagesPerSecond: (batch * 1000) / callMs,
      faultsPerCall,
    }),
  );
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

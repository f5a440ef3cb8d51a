// One side of bench/train-step.bench.ts: times sphereface's train step for one configuration in
// a fresh process (so peak RSS is this configuration's) and prints one JSON line.
// Usage: node dist/bench/train-step-child.js ARCH BATCH CLASSES STEPS
import { createModel, inputSizeOf, setNumThreads } from '../lib';
import type { Arch } from '../lib';
import { median } from './machine';
import { randomBatch } from './random-batch';

async function main(): Promise<void> {
  const [arch, batchText, classesText, stepsText] = process.argv.slice(2);
  const batch = Number(batchText);
  const classes = Number(classesText);
  const steps = Number(stepsText);
  setNumThreads(Number(process.env.OMP_NUM_THREADS ?? 2));
  const { height, width } = inputSizeOf(arch as Arch);
  const model = await createModel({
    arch: arch as Arch,
    classes,
    head: { kind: 'sphere', m: 4 },
    device: 'cpu',
    seed: 1,
  });
  // Random pixels, labels and flips, fixed per step so both sides see the same kind of input.
  const { images, labels, flip } = randomBatch(batch, height, width, classes);
  const rssBefore = process.memoryUsage().rss;
  const times: number[] = [];
  const phases: Record<string, number[]> = {
    prepare: [],
    forward: [],
    loss: [],
    backward: [],
    optimiser: [],
  };
  let faultsAtStart = 0;
  for (let i = 0; i < steps + 2; i++) {
    if (i === 2) faultsAtStart = process.resourceUsage().minorPageFault;
    const started = process.hrtime.bigint();
    const step = { images, labels, n: batch, flip, lr: 0.01, lambda: 5, timings: true };
    const { timings } = await model.trainStep(step);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (!timings) throw new Error('trainStep gave no timings although asked for them');
    if (i < 2) continue; // warm-up: first-touch allocations and OpenMP start
    times.push(ms);
    for (const [key, values] of Object.entries(phases)) {
      values.push(timings[key as keyof typeof timings]);
    }
  }
  const faultsPerStep = (process.resourceUsage().minorPageFault - faultsAtStart) / steps;
  const stepMs = median(times);
  console.log(
    JSON.stringify({
      side: 'sphereface',
      arch,
      batch,
      classes,
      stepMs,
      imagesPerSecond: (batch * 1000) / stepMs,
      phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
      macsPerImage: model.macsPerImage(),
      faultsPerStep,
      rssBeforeMb: rssBefore / 2 ** 20,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
  model.dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

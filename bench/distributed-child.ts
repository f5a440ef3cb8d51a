// One process of bench/distributed.bench.ts: trains sphere-cnn4 steps on its part of each batch
// (all of it without WORLD_SIZE; its rank's part when started as a rank) with one thread, and
// rank 0 prints one JSON line: median step, images/s over every rank, time per phase.
// Usage: node dist/bench/distributed-child.js ARCH BATCH CLASSES STEPS OVERLAP(1|0)
import { createModel, inputSizeOf, setNumThreads } from '../lib';
import type { Arch } from '../lib';
import { distributedByEnv } from '../lib/dist/distributed-options';
import { ProcessGroup } from '../lib/dist/process-group';
import { rankBatchRange } from '../lib/data/rank-share';
import { median } from './machine';
import { randomBatch } from './random-batch';

async function main(): Promise<void> {
  const [arch, batchText, classesText, stepsText, overlapText] = process.argv.slice(2);
  const batch = Number(batchText);
  const classes = Number(classesText);
  const steps = Number(stepsText);
  setNumThreads(Number(process.env.SPHEREFACE_NUM_THREADS ?? 1));
  const group = distributedByEnv()
    ? await ProcessGroup.join({ overlap: overlapText !== '0' })
    : undefined;
  const { height, width } = inputSizeOf(arch as Arch);
  const model = await createModel({
    arch: arch as Arch,
    classes,
    head: { kind: 'sphere', m: 4 },
    device: 'cpu',
    seed: 1,
  });
  if (group) await model.joinGroup(group);
  // The whole batch's random pixels, labels and flips (the same on every rank), of which each
  // rank trains on its part.
  const { images, labels, flip } = randomBatch(batch, height, width, classes);
  const { start, n } = rankBatchRange(0, batch, batch, group?.rank ?? 0, group?.worldSize ?? 1);
  const bytes = height * width * 3;
  const part = {
    images: images.subarray(start * bytes, (start + n) * bytes),
    labels: labels.subarray(start, start + n),
    flip: flip.subarray(start, start + n),
    n,
  };
  const times: number[] = [];
  const phases: Record<string, number[]> = {
    forward: [],
    loss: [],
    backward: [],
    reduce: [],
    optimiser: [],
  };
  for (let i = 0; i < steps + 2; i++) {
    const started = process.hrtime.bigint();
    const result = await model.trainStep({ ...part, lr: 0.01, lambda: 5, timings: true });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (i < 2) continue; // warm-up
    times.push(ms);
    for (const [key, values] of Object.entries(phases)) {
      values.push(result.timings![key as keyof typeof result.timings]);
    }
    if (result.images !== batch) throw new Error(`a step trained on ${result.images} images`);
  }
  const stepMs = median(times);
  if (!group || group.isWriter) {
    console.log(
      JSON.stringify({
        stepMs,
        imagesPerSecond: (batch * 1000) / stepMs,
        phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
        parameters: model.parameterCount(),
      }),
    );
  }
  model.dispose();
  await group?.leave();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

// `npm run bench:gpu`: the GPU figures, for the GPU machine's check script (its own command, not
// part of `npm run bench`, so that CPU runs never wait on it). Skips, exit 0, without CUDA.
//  1. The fused margin-softmax loss, forward + backward, against the best composition of
//     libtorch autograd ops and the three GEMMs alone, on the GPU, interleaved, each timing
//     ending with a device synchronisation (batch 256, dim 512, 10575 classes, A-Softmax m = 4).
//  2. sphere20 training images/s at batch 256 (uint8 batch -> normalise + flip, forward, the
//     fused loss, backward, SGD), median of timed steps after warm-up, and the same for
//     sphere-cnn4 for scale.
// Environment: BENCH_REPEATS (default 30), BENCH_STEPS (default 20).
import * as os from 'node:os';
import { info } from '../lib/info';
import { createModel } from '../lib/models/model';
import { nativeTesting } from '../lib/native';
import { toNativeHead } from '../lib/ops/margin-head';
import { Random } from '../lib/util/random';
import { median } from './machine';

async function lossBench(repeats: number): Promise<void> {
  const sizes = { batch: 256, dim: 512, classes: 10575 };
  const head = { kind: 'sphere' as const, m: 4, lambda: 0 };
  const result = await nativeTesting().benchMarginSoftmax({
    ...sizes,
    threads: os.availableParallelism(),
    repeats,
    seedRepeats: 0,
    head: toNativeHead(head),
    device: 'cuda',
  });
  const med = {
    gemms: median(result.gemms),
    fused: median(result.fused),
    composed: median(result.composed),
  };
  console.log(
    `\nloss: batch ${sizes.batch}, dim ${sizes.dim}, classes ${sizes.classes}, forward + backward, ` +
      `sphere m=${head.m}, ${repeats} repeats, synchronised`,
  );
  console.log('| variant | median ms |');
  console.log('|---|---:|');
  console.log(`| the three GEMMs alone | ${med.gemms.toFixed(3)} |`);
  console.log(`| fused op | ${med.fused.toFixed(3)} |`);
  console.log(`| composed libtorch autograd | ${med.composed.toFixed(3)} |`);
  console.log(`fused / GEMMs:    ${(med.fused / med.gemms).toFixed(2)}`);
  console.log(`composed / fused: ${(med.composed / med.fused).toFixed(2)}`);
  console.log(
    `loss: fused ${result.fusedLoss.toFixed(6)}, composed ${result.composedLoss.toFixed(6)} ` +
      '(the same maths, so they must agree)',
  );
}

async function trainingBench(arch: 'sphere20' | 'sphere-cnn4', steps: number): Promise<void> {
  const batch = 256;
  const classes = 10574;
  const model = await createModel({
    arch,
    classes,
    head: { kind: 'sphere', m: 4 },
    device: 'cuda',
    seed: 1,
  });
  try {
    const { height, width } = model.inputSize;
    const random = new Random(7);
    const images = new Uint8Array(batch * height * width * 3);
    for (let i = 0; i < images.length; i++) images[i] = Math.floor(random.next() * 256);
    const labels = Int32Array.from({ length: batch }, () => Math.floor(random.next() * classes));
    const flip = Uint8Array.from({ length: batch }, (_, i) => i % 2);
    const step = () => model.trainStep({ images, labels, n: batch, lr: 0.01, lambda: 5, flip });
    for (let i = 0; i < 3; i++) await step(); // cuDNN's algorithm search, the caching allocator
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const start = performance.now();
      // One stream: each step's loss, read on the host, waits for the step before it to finish,
      // so back-to-back steps time the steady state.
      await step();
      times.push(performance.now() - start);
    }
    const ms = median(times);
    console.log(`| ${arch} | ${batch} | ${ms.toFixed(1)} | ${((batch * 1000) / ms).toFixed(0)} |`);
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const about = info();
  if (!about.cuda.available) {
    console.log('bench:gpu: no CUDA device visible to libtorch: skipped');
    return;
  }
  console.log(
    `${about.cuda.devices.join(', ')}; libtorch ${about.torch.version} (${about.torch.source}); ` +
      `loss on CUDA: ${about.cuda.loss}; ${os.cpus()[0]?.model ?? 'unknown CPU'}; ` +
      new Date().toISOString().slice(0, 10),
  );
  await lossBench(Number(process.env.BENCH_REPEATS ?? 30));
  const steps = Number(process.env.BENCH_STEPS ?? 20);
  console.log(`\ntraining step, A-Softmax m=4, 10574 classes, median of ${steps} steps`);
  console.log('| arch | batch | median ms / step | images/s |');
  console.log('|---|---:|---:|---:|');
  await trainingBench('sphere20', steps);
  await trainingBench('sphere-cnn4', steps);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

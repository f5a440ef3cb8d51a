// `npm run bench -- margin-softmax`: the fused margin-softmax loss, forward + backward, next to
// the three GEMMs it cannot avoid, the best composition of libtorch autograd ops, and the seed's
// loss written the seed's way; all timed in one native run, interleaved, on 2 threads. Then the
// same op through the public API (marginSoftmaxLoss: checks, the JS boundary, results handed to
// JS), against the native op's own time, with the minor page faults each call costs.
// Environment: BENCH_REPEATS (default 15), BENCH_SEED_REPEATS (default 5), BENCH_THREADS
// (default 2, the setting).
import { marginSoftmaxLoss } from '../lib';
import { nativeTesting } from '../lib/native';
import { toNativeHead } from '../lib/ops/margin-head';
import { describeMachine, median } from './machine';

async function main(): Promise<void> {
  const sizes = { batch: 256, dim: 512, classes: 10575 };
  const threads = Number(process.env.BENCH_THREADS ?? 2);
  process.env.SPHEREFACE_NUM_THREADS = String(threads); // the public API's, read at first use
  const repeats = Number(process.env.BENCH_REPEATS ?? 15);
  const seedRepeats = Number(process.env.BENCH_SEED_REPEATS ?? 5);
  const head = { kind: 'sphere' as const, m: 4, lambda: 0 };
  console.log(describeMachine());
  console.log(
    `batch ${sizes.batch}, dim ${sizes.dim}, classes ${sizes.classes}, forward + backward, ` +
      `sphere m=${head.m}, ${threads} threads, ${repeats} repeats (seed: ${seedRepeats}), ` +
      `OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(unset)'}`,
  );
  const result = await nativeTesting().benchMarginSoftmax({
    ...sizes,
    threads,
    repeats,
    seedRepeats,
    head: toNativeHead(head),
    device: 'cpu',
  });
  const med = {
    gemms: median(result.gemms),
    fused: median(result.fused),
    composed: median(result.composed),
    seed: median(result.seed),
  };
  // Peak extra memory, in B x C float buffers; for the losses beyond the inputs and the two
  // gradients every variant must return (native/testing/bench/margin_softmax_bench.cc).
  const buffers = (bytes: number): string => (bytes / result.bufferBytes).toFixed(2);
  console.log('');
  console.log('| variant | median ms | peak extra memory (B x C float buffers) |');
  console.log('|---|---:|---:|');
  console.log(
    `| the three GEMMs alone | ${med.gemms.toFixed(1)} | ${buffers(result.peakBytes.gemms)} (incl. their outputs) |`,
  );
  console.log(`| fused op | ${med.fused.toFixed(1)} | ${buffers(result.peakBytes.fused)} |`);
  console.log(
    `| composed libtorch autograd | ${med.composed.toFixed(1)} | ${buffers(result.peakBytes.composed)} |`,
  );
  console.log(
    `| seed's loss, seed's way | ${med.seed.toFixed(1)} | ${buffers(result.peakBytes.seed)} |`,
  );
  console.log('');
  console.log(`fused / GEMMs:    ${(med.fused / med.gemms).toFixed(2)}  (target <= 1.3)`);
  console.log(`composed / fused: ${(med.composed / med.fused).toFixed(2)}  (target >= 1.25)`);
  console.log(
    `loss: fused ${result.fusedLoss.toFixed(6)}, composed ${result.composedLoss.toFixed(6)} ` +
      '(the same maths, so they must agree)',
  );
  console.log(`seed / fused:     ${(med.seed / med.fused).toFixed(2)}  (target >= 4)`);

  const api = await timePublicApi(sizes, head, repeats);
  console.log('');
  console.log(
    `public API (marginSoftmaxLoss from JS): median ${api.median.toFixed(1)} ms, ` +
      `${Math.round(api.faults)} minor page faults a call`,
  );
  console.log(`public API / fused op: ${(api.median / med.fused).toFixed(2)}  (target <= 1.15)`);
}

/** marginSoftmaxLoss as a user calls it, on random inputs of the bench's sizes. */
async function timePublicApi(
  sizes: { batch: number; dim: number; classes: number },
  head: { kind: 'sphere'; m: number; lambda: number },
  repeats: number,
): Promise<{ median: number; faults: number }> {
  const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const input = {
    features: random(sizes.batch * sizes.dim),
    weight: random(sizes.classes * sizes.dim),
    labels: Int32Array.from({ length: sizes.batch }, (_, i) => (i * 41) % sizes.classes),
    dim: sizes.dim,
    head,
  };
  for (let i = 0; i < 3; i++) await marginSoftmaxLoss(input); // warm-up
  const times: number[] = [];
  const faultsBefore = process.resourceUsage().minorPageFault;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await marginSoftmaxLoss(input);
    times.push(performance.now() - start);
  }
  const faults = (process.resourceUsage().minorPageFault - faultsBefore) / repeats;
  return { median: median(times), faults };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

// `npm run bench -- train-step`: images/s of one training step (uint8 batch -> normalise + flip,
// forward, A-Softmax m = 4 loss, backward, SGD momentum + weight decay) for sphere-cnn4 and
// sphere20, against PyTorch eager (bench/peer/train_step.py, Debian's python3-torch) running the
// same nets, head and optimiser on the same libtorch, side by side in this one invocation.
// Each side runs in its own process, alternating, two rounds; the figure is the best round's
// median step. Also: GFLOP/s against a GEMM peak measured now, time per phase, peak RSS, and
// minor page faults a step, ours also once without the CPU block cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pythonWithTorch, runJsonLine } from './child-process';
import { describeMachine, describeRounds, IDLE_THREADS_SLEEP } from './machine';

interface Side {
  side: string;
  stepMs: number;
  imagesPerSecond: number;
  phases: Record<string, number>;
  rssBeforeMb: number;
  peakRssMb: number;
  faultsPerStep: number;
  macsPerImage?: number;
  gemmGflops?: number;
  torch?: string;
}

const CONFIGS = [
  { arch: 'sphere-cnn4', batch: 64, classes: 5749, steps: Number(process.env.BENCH_STEPS ?? 10) },
  { arch: 'sphere20', batch: 32, classes: 10574, steps: Number(process.env.BENCH_STEPS ?? 5) },
];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const threads = process.env.BENCH_THREADS ?? '2';
// Both sides: 2 threads, idle OpenMP and OpenBLAS threads sleep rather than spin (the machine is
// shared).
const env = {
  ...process.env,
  OMP_NUM_THREADS: threads,
  SPHEREFACE_NUM_THREADS: threads,
  ...IDLE_THREADS_SLEEP,
};

function best(sides: Side[]): Side {
  return sides.reduce((a, b) => (b.stepMs < a.stepMs ? b : a));
}

function main(): void {
  console.log(describeMachine());
  console.log(describeRounds(threads, ROUNDS, 'step'));
  const py = pythonWithTorch(env);
  if (!py)
    console.log('PyTorch peer skipped: no python3 with torch (apt-get install python3-torch)');
  const peerScript = path.join(__dirname, '..', '..', 'bench', 'peer', 'train_step.py');
  const child = path.join(__dirname, 'train-step-child.js');
  const rows: string[] = [];
  for (const config of CONFIGS) {
    const args = [config.arch, String(config.batch), String(config.classes), String(config.steps)];
    const ours: Side[] = [];
    const theirs: Side[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(runJsonLine<Side>(process.execPath, [child, ...args], env));
      if (py && fs.existsSync(peerScript))
        theirs.push(runJsonLine<Side>(py, [peerScript, ...args], env));
    }
    // Once, for the page faults the CPU block cache saves (native/common/cpu_block_cache.h).
    const uncached = runJsonLine<Side>(process.execPath, [child, ...args], {
      ...env,
      SPHEREFACE_CACHE_CPU_BLOCKS: '0',
    });
    const a = best(ours);
    const macs = a.macsPerImage ?? 0;
    // A step is ~3 forward passes of multiply-adds (forward, input grads, weight grads) plus the
    // head's three batch x classes x 512 GEMMs.
    const flops = config.batch * (3 * 2 * macs) + 3 * 2 * config.batch * config.classes * 512;
    const gflops = flops / (a.stepMs / 1000) / 1e9;
    console.log(
      `\n${config.arch}, batch ${config.batch}, ${config.classes} classes, ${config.steps} timed steps`,
    );
    console.log(
      `  sphereface: ${a.imagesPerSecond.toFixed(1)} images/s (step ${a.stepMs.toFixed(0)} ms), ${gflops.toFixed(1)} GFLOP/s`,
    );
    console.log(`    phases ms: ${phaseLine(a)}`);
    console.log(
      `    peak RSS ${a.peakRssMb.toFixed(0)} MB (${a.rssBeforeMb.toFixed(0)} MB before the first step), ${a.faultsPerStep.toFixed(0)} minor page faults a step`,
    );
    console.log(
      `  sphereface, SPHEREFACE_CACHE_CPU_BLOCKS=0: ${uncached.imagesPerSecond.toFixed(1)} images/s, ${uncached.faultsPerStep.toFixed(0)} minor page faults a step`,
    );
    const faults = `${a.faultsPerStep.toFixed(0)} / ${uncached.faultsPerStep.toFixed(0)}`;
    let row = `| ${config.arch} | ${config.batch} | ${a.imagesPerSecond.toFixed(1)} | ${gflops.toFixed(1)} |`;
    if (theirs.length > 0) {
      const b = best(theirs);
      const peak = b.gemmGflops ?? NaN;
      console.log(
        `  pytorch ${b.torch}: ${b.imagesPerSecond.toFixed(1)} images/s (step ${b.stepMs.toFixed(0)} ms)`,
      );
      console.log(`    phases ms: ${phaseLine(b)}`);
      console.log(
        `    peak RSS ${b.peakRssMb.toFixed(0)} MB (${b.rssBeforeMb.toFixed(0)} MB before the first step), ${b.faultsPerStep.toFixed(0)} minor page faults a step`,
      );
      console.log(
        `  ratio: ${(a.imagesPerSecond / b.imagesPerSecond).toFixed(2)}x PyTorch's images/s`,
      );
      console.log(
        `  GEMM peak (1024^3 sgemm, same libtorch, ${threads} threads): ${peak.toFixed(1)} GFLOP/s -> step at ${((100 * gflops) / peak).toFixed(0)}%`,
      );
      row += ` ${b.imagesPerSecond.toFixed(1)} | ${(a.imagesPerSecond / b.imagesPerSecond).toFixed(2)}x | ${peak.toFixed(1)} | ${(a.peakRssMb - a.rssBeforeMb).toFixed(0)} / ${(b.peakRssMb - b.rssBeforeMb).toFixed(0)} | ${faults} / ${b.faultsPerStep.toFixed(0)} |`;
    }
    rows.push(row);
  }
  console.log(
    '\n| arch | batch | sphereface img/s | GFLOP/s | PyTorch img/s | ratio | GEMM peak GFLOP/s | training RSS MB (ours / PyTorch) | minor faults a step (ours / ours without the block cache / PyTorch) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  rows.forEach((row) => console.log(row));
}

function phaseLine(side: Side): string {
  return Object.entries(side.phases)
    .map(([name, ms]) => `${name} ${ms.toFixed(1)}`)
    .join(', ');
}

main();

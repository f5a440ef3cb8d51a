// `npm run bench -- embed`: model.embed's images/s against PyTorch inference (eval mode,
// torch.inference_mode(), bench/peer/embed.py) on the same nets, uint8 input and libtorch, side by
// side in this one invocation, for sphere20, sphere64 and sphere-cnn4 at batch 1 and 64. Ours
// runs twice: as shipped, and with SPHEREFACE_WINOGRAD=0 (the residual convs on at::conv2d), which
// shows what the conv path chosen by batch size buys. Each side runs in its own process,
// alternating, BENCH_ROUNDS rounds (default 2); the figure is the best round's median call.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pythonWithTorch, runJsonLine } from './child-process';
import { describeMachine, describeRounds, IDLE_THREADS_SLEEP } from './machine';

interface Side {
  callMs: number;
  faultsPerCall: number;
  imagesPerSecond: number;
  torch?: string;
}

const CONFIGS = [
  { arch: 'sphere20', batch: 1, calls: 30 },
  { arch: 'sphere20', batch: 64, calls: 5 },
  { arch: 'sphere64', batch: 1, calls: 15 },
  { arch: 'sphere64', batch: 64, calls: 3 },
  { arch: 'sphere-cnn4', batch: 1, calls: 100 },
  { arch: 'sphere-cnn4', batch: 64, calls: 10 },
];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const threads = process.env.BENCH_THREADS ?? '2';
// Both sides: the same threads, idle OpenMP and OpenBLAS threads sleep (the machine is shared).
const env = {
  ...process.env,
  OMP_NUM_THREADS: threads,
  SPHEREFACE_NUM_THREADS: threads,
  ...IDLE_THREADS_SLEEP,
};
const direct = { ...env, SPHEREFACE_WINOGRAD: '0' };

function best(sides: Side[]): Side {
  return sides.reduce((a, b) => (b.callMs < a.callMs ? b : a));
}

function main(): void {
  console.log(describeMachine());
  console.log(describeRounds(threads, ROUNDS, 'call'));
  const py = pythonWithTorch(env);
  const peerScript = path.join(__dirname, '..', '..', 'bench', 'peer', 'embed.py');
  const peer = py && fs.existsSync(peerScript) ? py : null;
  if (!peer)
    console.log('PyTorch peer skipped: no python3 with torch (apt-get install python3-torch)');
  const child = path.join(__dirname, 'embed-child.js');
  const rows: string[] = [];
  for (const config of CONFIGS) {
    const args = [config.arch, String(config.batch), String(config.calls)];
    const ours: Side[] = [];
    const oursDirect: Side[] = [];
    const theirs: Side[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(runJsonLine<Side>(process.execPath, [child, ...args], env));
      if (config.arch !== 'sphere-cnn4')
        oursDirect.push(runJsonLine<Side>(process.execPath, [child, ...args], direct));
      if (peer) theirs.push(runJsonLine<Side>(peer, [peerScript, ...args], env));
    }
    const a = best(ours);
    const d = oursDirect.length > 0 ? best(oursDirect) : null;
    const b = theirs.length > 0 ? best(theirs) : null;
    const figure = (side: Side | null): string =>
      side
        ? `${side.imagesPerSecond.toFixed(1)} (${side.callMs.toFixed(1)} ms, ${side.faultsPerCall.toFixed(0)} faults)`
        : '-';
    const ratio = b ? `${(a.imagesPerSecond / b.imagesPerSecond).toFixed(2)}x` : '-';
    const row = `| ${config.arch} | ${config.batch} | ${figure(a)} | ${figure(d)} | ${figure(b)} | ${ratio} |`;
    console.log(row);
    rows.push(row);
  }
  console.log(
    '\n| arch | batch | sphereface img/s (call, minor page faults) | SPHEREFACE_WINOGRAD=0 | PyTorch img/s (call, minor page faults) | ratio |',
  );
  console.log('|---|---|---|---|---|---|');
  rows.forEach((row) => console.log(row));
}

main();

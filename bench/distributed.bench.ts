// `npm run bench -- distributed`: data-parallel scaling on this machine. sphere-cnn4 steps of a
// 64-image batch (5749 classes, as bench/train-step) by one process with one thread, against two
// processes with one thread each, each training on half of every batch and all-reducing the
// gradients over Gloo on loopback (overlapping the backward, and after it for comparison).
// Configurations alternate, ROUNDS rounds; the figure is each one's best round's median step.
// The load average is printed around every run: the machine is shared, and two busy processes
// need both of its cores. Where a python3 imports torch, PyTorch's own DistributedDataParallel
// runs the same configurations alongside (bench/peer/ddp_step.py), scaled against its own single
// process, with the time of one lone all-reduce of all the gradients' bytes.
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pythonWithTorch } from './child-process';
import { describeMachine } from './machine';

interface Result {
  stepMs: number;
  imagesPerSecond: number;
  /** Ours only. */
  phases?: Record<string, number>;
  parameters: number;
  load: string;
  /** PyTorch's side: one all-reduce of every gradient byte alone, ms. */
  allreduceMs?: number | null;
}

interface Config {
  name: string;
  processes: number;
  overlap: boolean;
  /** The python3 that runs PyTorch's DDP, for the peer's configurations. */
  python?: string;
}

const ARCH = 'sphere-cnn4';
const BATCH = Number(process.env.BENCH_BATCH ?? 64);
const CLASSES = 5749;
const STEPS = Number(process.env.BENCH_STEPS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const child = path.join(__dirname, 'distributed-child.js');
const peer = path.join(__dirname, '..', '..', 'bench', 'peer', 'ddp_step.py');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function run({ processes, overlap, python }: Config): Promise<Result> {
  const port = await freePort();
  const before = load();
  const outputs = await Promise.all(
    Array.from({ length: processes }, (_, rank) => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        SPHEREFACE_NUM_THREADS: '1',
        OMP_NUM_THREADS: '1',
        OMP_WAIT_POLICY: 'PASSIVE',
      };
      if (processes > 1) {
        Object.assign(env, {
          RANK: String(rank),
          WORLD_SIZE: String(processes),
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
        });
      }
      const [command, args] = python
        ? [python, [peer, String(BATCH), String(CLASSES), String(STEPS)]]
        : [
            process.execPath,
            [child, ARCH, String(BATCH), String(CLASSES), String(STEPS), overlap ? '1' : '0'],
          ];
      return new Promise<string>((resolve, reject) => {
        const p = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        p.on('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`rank ${rank}: exit ${code}`)),
        );
      });
    }),
  );
  const line = outputs[0].trim().split('\n').pop() ?? '';
  return { ...(JSON.parse(line) as Omit<Result, 'load'>), load: `${before} -> ${load()}` };
}

function best(results: Result[]): Result {
  return results.reduce((a, b) => (b.stepMs < a.stepMs ? b : a));
}

async function main(): Promise<void> {
  console.log(describeMachine());
  console.log(
    `${ARCH}, batch ${BATCH} (${BATCH / 2} per rank with 2), ${CLASSES} classes, ${STEPS} timed steps, ` +
      `1 thread per process, ${ROUNDS} rounds alternating; figure: best round's median step`,
  );
  const configs: Config[] = [
    { name: '1 process', processes: 1, overlap: true },
    { name: '2 processes, reduce overlapping the backward', processes: 2, overlap: true },
    { name: '2 processes, reduce after the backward', processes: 2, overlap: false },
  ];
  const python = pythonWithTorch(process.env);
  if (python) {
    configs.push(
      { name: 'PyTorch, 1 process', processes: 1, overlap: true, python },
      { name: 'PyTorch DDP, 2 processes', processes: 2, overlap: true, python },
    );
  } else {
    console.log('PyTorch side skipped: no python3 imports torch (apt-get install python3-torch)');
  }
  const results = configs.map(() => [] as Result[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, config] of configs.entries()) {
      const result = await run(config);
      results[i].push(result);
      console.log(
        `round ${round + 1} ${config.name}: ${result.imagesPerSecond.toFixed(1)} images/s ` +
          `(step ${result.stepMs.toFixed(0)} ms; load ${result.load})`,
      );
    }
  }
  const single = best(results[0]);
  // Each side scales against its own single process.
  const singleOf = (config: Config) =>
    best(results[configs.findIndex((c) => c.processes === 1 && c.python === config.python)]);
  console.log(
    '\n| configuration | images/s | step ms | scaling | phases ms (forward / loss / backward / reduce wait / optimiser) |',
  );
  console.log('|---|---|---|---|---|');
  configs.forEach((config, i) => {
    const r = best(results[i]);
    const p = r.phases;
    const phases = p
      ? [p.forward, p.loss, p.backward, p.reduce, p.optimiser].map((v) => v.toFixed(0)).join(' / ')
      : r.allreduceMs
        ? `one lone all-reduce of the gradients: ${r.allreduceMs.toFixed(1)} ms`
        : '';
    console.log(
      `| ${config.name} | ${r.imagesPerSecond.toFixed(1)} | ${r.stepMs.toFixed(0)} | ` +
        `${(r.imagesPerSecond / singleOf(config).imagesPerSecond).toFixed(2)}x | ${phases} |`,
    );
  });
  console.log(`gradients: ${(single.parameters * 4) / 2 ** 20} MiB per step (net + head)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

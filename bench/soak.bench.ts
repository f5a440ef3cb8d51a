// `npm run bench -- soak`: long runs that would show a leak. 20,000 training steps of a tiny
// net (sphere-cnn4, 10 classes, batch 4: every part of a full step runs: normalise and flip,
// forward, A-Softmax loss, backward, SGD with momentum and weight decay), then 10,000 model
// create/dispose cycles. RSS is read after a full GC once the warm-up (the first tenth) is done
// and again at the end; the target is growth under 5 %. Not run by a bare `npm run bench`.
// SOAK_STEPS, SOAK_CYCLES, SOAK_BATCH, SOAK_CLASSES and BENCH_THREADS change the sizes.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { createModel, inputSizeOf, liveModelCount, setNumThreads } from '../lib';
import { describeMachine } from './machine';

const STEPS = Number(process.env.SOAK_STEPS ?? 20_000);
const CYCLES = Number(process.env.SOAK_CYCLES ?? 10_000);
const BATCH = Number(process.env.SOAK_BATCH ?? 4);
const CLASSES = Number(process.env.SOAK_CLASSES ?? 10);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const ARCH = 'sphere-cnn4';
const HEAD = { kind: 'sphere', m: 4 } as const;
/** RSS may grow by less than this after the warm-up. */
const TARGET = 0.05;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function rssMb(): number {
  gc();
  return process.memoryUsage().rss / 2 ** 20;
}

interface Phase {
  name: string;
  count: number;
  seconds: number;
  warmRss: number;
  endRss: number;
  /** RSS (after GC) at each tenth past the warm-up: a leak climbs, noise does not. */
  samples: number[];
}

/** Runs `body(i)` `count` times; RSS after the first tenth, at each later tenth, at the end. */
async function soak(
  name: string,
  count: number,
  body: (i: number) => Promise<void>,
): Promise<Phase> {
  const warmUp = Math.max(1, Math.floor(count / 10));
  const tenth = Math.max(1, Math.floor(count / 10));
  const samples: number[] = [];
  let warmRss = 0;
  const started = performance.now();
  // Each reading is printed as it is taken, so a run stopped early still shows how far it got.
  const note = (rss: number, done: number) =>
    console.log(
      `${name}: ${done}/${count} after ${((performance.now() - started) / 1000).toFixed(0)} s, RSS ${rss.toFixed(1)} MB`,
    );
  for (let i = 0; i < count; i++) {
    await body(i);
    if (i + 1 === warmUp) note((warmRss = rssMb()), i + 1);
    else if ((i + 1) % tenth === 0 && i + 1 > warmUp) {
      samples.push(rssMb());
      note(samples[samples.length - 1], i + 1);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return { name, count, seconds, warmRss, endRss: rssMb(), samples };
}

function row(p: Phase): string {
  const growth = (p.endRss - p.warmRss) / p.warmRss;
  return `| ${p.name} | ${p.count} | ${p.seconds.toFixed(0)} | ${p.warmRss.toFixed(1)} | ${p.endRss.toFixed(1)} | ${(100 * growth).toFixed(2)} % | ${growth < TARGET ? 'yes' : 'NO'} |`;
}

async function main(): Promise<void> {
  setNumThreads(THREADS);
  console.log(describeMachine());
  console.log(
    `${ARCH}, ${CLASSES} classes, batch ${BATCH}, ${STEPS} steps; ${CYCLES} create/dispose cycles; ${THREADS} threads`,
  );
  const { height, width } = inputSizeOf(ARCH);
  // Eight batches of random pixels, labels and flips, used in turn.
  let state = 2026;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const batches = Array.from({ length: 8 }, () => ({
    images: new Uint8Array(BATCH * height * width * 3).map(() => next() & 255),
    labels: Int32Array.from({ length: BATCH }, () => next() % CLASSES),
    flip: Uint8Array.from({ length: BATCH }, () => next() & 1),
  }));
  const startRss = rssMb();

  const model = await createModel({ arch: ARCH, classes: CLASSES, head: HEAD, seed: 1 });
  let lastLoss = NaN;
  const training = await soak('train steps', STEPS, async (i) => {
    const b = batches[i % batches.length];
    const result = await model.trainStep({ ...b, n: BATCH, lr: 0.01, lambda: 5 });
    lastLoss = result.loss;
  });
  model.dispose();
  if (!Number.isFinite(lastLoss)) throw new Error(`the loss became ${lastLoss}`);

  const cycles = await soak('create/dispose', CYCLES, async (i) => {
    const m = await createModel({ arch: ARCH, classes: CLASSES, head: HEAD, seed: i });
    m.dispose();
  });
  const live = liveModelCount();

  console.log(
    `RSS at start ${startRss.toFixed(1)} MB; last loss ${lastLoss.toFixed(4)}; live models at the end ${live}`,
  );
  console.log('');
  console.log(
    '| phase | count | seconds | RSS after warm-up (MB) | RSS at end (MB) | growth | < 5 % |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const p of [training, cycles]) console.log(row(p));
  for (const p of [training, cycles]) {
    console.log(
      `${p.name}: RSS at each tenth after the warm-up: ${p.samples.map((s) => s.toFixed(1)).join(', ')}`,
    );
  }
  const failed = [training, cycles].filter((p) => (p.endRss - p.warmRss) / p.warmRss >= TARGET);
  if (failed.length || live !== 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

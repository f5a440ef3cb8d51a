// The baseline of bench/store.bench.ts's decode comparison: `loadImages` of another checkout
// (BENCH_STORE_BASELINE: a checkout built with `npx tsc`, such as the jpeg-js pool before sharp),
// in its own process, on the same files and transforms. Warms its pool on 64 images, then times
// `rounds` loads of all of them. Prints one JSON line: images/s and CPU ms an image per round.
// Usage: node dist/bench/store-baseline-child.js CHECKOUT THREADS ROUNDS FILE...
import * as path from 'node:path';

interface Transform {
  apply(image: unknown): unknown;
}
interface BaselineLib {
  loadImages(
    paths: string[],
    options: { transforms: Transform[]; threads: number },
  ): Promise<unknown>;
}

function load<T>(checkout: string, module: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(checkout, 'dist', 'lib', 'data', module)) as T;
}

async function main(): Promise<void> {
  const [checkout, threadsText, roundsText, ...files] = process.argv.slice(2);
  const { loadImages } = load<BaselineLib>(checkout, 'load-images');
  const { Resize } = load<{ Resize: new (size: number) => Transform }>(
    checkout,
    'transforms/resize',
  );
  const { CenterCrop } = load<{ CenterCrop: new (size: [number, number]) => Transform }>(
    checkout,
    'transforms/center-crop',
  );
  const options = {
    transforms: [new Resize(112), new CenterCrop([112, 96])],
    threads: Number(threadsText),
  };
  await loadImages(files.slice(0, 64), options);
  const rates: number[] = [];
  const cpuMs: number[] = [];
  for (let round = 0; round < Number(roundsText); round++) {
    const started = performance.now();
    const cpu = process.cpuUsage();
    await loadImages(files, options);
    const used = process.cpuUsage(cpu);
    rates.push(files.length / ((performance.now() - started) / 1000));
    cpuMs.push((used.user + used.system) / 1000 / files.length);
  }
  console.log(JSON.stringify({ rates, cpuMs }));
  process.exit(0);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});

import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeImage } from '../data/helpers';

// Ending the process (or a worker thread) while a model's thread is inside a training step must
// end it with its own exit code: the native threads are stopped and joined first, so none is left
// inside libtorch while its static objects are destroyed (before, this died of SIGSEGV).
const lib = JSON.stringify(path.resolve(__dirname, '..', '..', 'lib'));

// Starts two steps of a small model (one running, one queued) and, once the first is under
// way, runs `end` with the model still busy.
function stepping(end: string): string {
  return `
    const { createModel } = require(${lib});
    (async () => {
      const model = await createModel({
        arch: 'sphere-cnn4', classes: 4, head: { kind: 'sphere', m: 4 }, device: 'cpu', seed: 1,
      });
      const n = 48;
      const images = new Uint8Array(n * 96 * 96 * 3).map((_, i) => (i * 7) & 255);
      const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
      const step = () => model.trainStep({ images, labels, n, lr: 0.01 });
      step();
      step();
      setTimeout(() => {
        process.stderr.write('pending ' + model.pending + '\\n');
        ${end}
      }, 100);
    })();
  `;
}

function run(script: string): { status: number | null; signal: string | null; stderr: string } {
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  return { status: child.status, signal: child.signal, stderr: child.stderr };
}

const REPEATS = 3;

describe('ending the process during a training step', () => {
  it('process.exit(3) exits with 3', () => {
    for (let i = 0; i < REPEATS; i++) {
      const child = run(stepping('process.exit(3);'));
      expect(child.signal, child.stderr).to.equal(null);
      expect(child.status, child.stderr).to.equal(3);
      expect(child.stderr).to.contain('pending 2');
    }
  });

  it('an uncaught exception exits with 1 and its message', () => {
    for (let i = 0; i < REPEATS; i++) {
      const child = run(stepping("throw new Error('thrown during a step');"));
      expect(child.signal, child.stderr).to.equal(null);
      expect(child.status, child.stderr).to.equal(1);
      expect(child.stderr).to.contain('pending 2').and.contain('Error: thrown during a step');
    }
  });

  it('an unhandled rejection exits with 1 and its message', () => {
    for (let i = 0; i < REPEATS; i++) {
      const child = run(stepping("Promise.reject(new Error('rejected during a step'));"));
      expect(child.signal, child.stderr).to.equal(null);
      expect(child.status, child.stderr).to.equal(1);
      expect(child.stderr).to.contain('pending 2').and.contain('Error: rejected during a step');
    }
  });
});

describe('a worker thread that uses the addon', () => {
  // The worker steps as above and tells the main thread once a step is running; the main thread
  // uses the addon too, before and after the worker ends.
  function withWorker(workerEnd: string, mainOnRunning: string): string {
    const workerScript = stepping(
      `require('node:worker_threads').parentPort.postMessage('running'); ${workerEnd}`,
    );
    return `
      const { Worker } = require('node:worker_threads');
      const { createModel } = require(${lib});
      (async () => {
        const model = await createModel({
          arch: 'sphere-cnn4', classes: 4, head: { kind: 'sphere', m: 4 }, device: 'cpu', seed: 2,
        });
        const images = new Uint8Array(2 * 96 * 96 * 3).fill(90);
        const before = await model.embed(images, 2);
        const worker = new Worker(${JSON.stringify(workerScript)}, { eval: true });
        const exited = new Promise((resolve) => worker.on('exit', resolve));
        worker.on('message', async () => { ${mainOnRunning} });
        const code = await exited;
        const after = await model.embed(images, 2);
        const same = after.every((v, i) => v === before[i]);
        console.log('worker exit ' + code + ', main still embeds: ' + same);
      })();
    `;
  }

  it('terminated while stepping: the process carries on and exits 0', () => {
    for (let i = 0; i < REPEATS; i++) {
      const child = spawnSync(
        process.execPath,
        ['-e', withWorker('', 'await worker.terminate();')],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(child.signal, child.stderr).to.equal(null);
      expect(child.status, child.stderr).to.equal(0);
      expect(child.stdout).to.contain('worker exit 1, main still embeds: true');
    }
  });

  it('calling process.exit(4) while stepping: the worker ends with 4, the process with 0', () => {
    const child = spawnSync(process.execPath, ['-e', withWorker('process.exit(4);', '')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.signal, child.stderr).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    expect(child.stdout).to.contain('worker exit 4, main still embeds: true');
  });
});

describe('ending the process while decode workers decode', () => {
  // The workers decode plain JPEGs through the addon; process.exit() terminates them mid-image,
  // when the addon's calls back into JS fail. The exit must still be the process's own.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clean-exit-'));
  const paths = Array.from({ length: 24 }, (_, i) => path.join(dir, `${i}.jpg`));
  before(async () => {
    for (const file of paths) await writeImage(file, 640, 480);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('process.exit(5) exits with 5', () => {
    // Loads again and again: once the first is done (the workers are up, a load takes about
    // 150 ms on 2 cores), the exit comes a few ms later, inside the next one's decodes.
    const script = (delay: number) => `
      const { loadImages } = require(${lib});
      const paths = ${JSON.stringify(paths)};
      let loads = 0;
      const load = () => loadImages(paths, { threads: 2 }).then(() => {
        if (++loads === 1) setTimeout(() => process.exit(5), ${delay});
        return load();
      });
      load();
    `;
    for (let i = 0; i < 5; i++) {
      const child = run(script(5 + 20 * i));
      expect(child.signal, child.stderr).to.equal(null);
      expect(child.status, child.stderr).to.equal(5);
    }
  });
});

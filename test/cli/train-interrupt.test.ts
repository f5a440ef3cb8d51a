// Ctrl-C in `sphereface train`: the first asks the run to stop after its step and write a
// checkpoint; the second quits at once, with exit code 130, while a step still runs (its native
// thread is stopped and joined first: no SIGSEGV). Either way nothing already written is lost:
// every checkpoint that was complete before the signals is there afterwards byte for byte, and
// every checkpoint there reads back and loads.
import { expect } from 'chai';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../../lib';
import { generateSyntheticFaces } from '../../lib/synth/generate';
import { listCheckpoints, readCheckpoint } from '../../lib/train/checkpoint';
import { startSphereface, tempDir, until, type RunningCli } from './cli-helpers';

const INTERRUPTED = 'interrupted: stopping after this step and writing a checkpoint';

/** The run's exit, or an error when it is still running `seconds` after `signal`. */
function exitWithin(run: RunningCli, seconds: number, signal: string): RunningCli['exit'] {
  return Promise.race([
    run.exit,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`still running ${seconds} s after ${signal}`)),
        seconds * 1000,
      ).unref(),
    ),
  ]);
}

/** Each complete checkpoint's files under `root` and their SHA-256, as 'iter-N/file' -> hash. */
async function checkpointFiles(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const dir of await listCheckpoints(root)) {
    for (const name of (await fs.readdir(dir)).sort()) {
      const bytes = await fs.readFile(path.join(dir, name));
      const hash = crypto.createHash('sha256').update(bytes).digest('hex');
      files.set(`${path.basename(dir)}/${name}`, hash);
    }
  }
  return files;
}

describe('Ctrl-C in sphereface train', function () {
  this.timeout(300_000); // two short training runs on a busy machine
  let data: string;
  before(async () => {
    const faces = await generateSyntheticFaces({
      out: await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-interrupt-')),
      identities: 8,
      images: 8,
      heldOutIdentities: 2,
      heldOutImages: 2,
      folds: 1,
      pairsPerFold: 1,
      seed: 5,
    });
    data = faces.trainDir;
  });

  /**
   * A run far longer than the test (64 images, 32 a step, 1000 epochs, one thread), writing a
   * checkpoint after every step and keeping them all; returns once one is written, with it.
   */
  async function training(): Promise<{
    run: RunningCli;
    root: string;
    before: Map<string, string>;
  }> {
    const out = await tempDir();
    const root = path.join(out, 'checkpoints');
    const run = startSphereface(
      [
        'train',
        '--data',
        data,
        '--arch',
        'sphere-cnn4',
        '--batch-size',
        '32',
        '--epochs',
        '1000',
        '--checkpoint-every',
        '1it',
        '--keep',
        '0',
        '--out',
        out,
      ],
      { env: { SPHEREFACE_NUM_THREADS: '1' } },
    );
    await until('a checkpoint', 120_000, async () => {
      if (run.child.exitCode !== null) throw new Error(`train exited early: ${run.stderr()}`);
      return (await listCheckpoints(root)).length >= 1;
    });
    return { run, root, before: await checkpointFiles(root) };
  }

  /** Every checkpoint of `before` is unchanged, and every checkpoint there now loads. */
  async function nothingLost(root: string, before: Map<string, string>): Promise<void> {
    const after = await checkpointFiles(root);
    for (const [file, hash] of before) expect(after.get(file), file).to.equal(hash);
    for (const dir of await listCheckpoints(root)) {
      const checkpoint = await readCheckpoint(dir);
      const model = await loadModel(checkpoint.modelPath);
      expect(model.arch).to.equal('sphere-cnn4');
      model.dispose();
    }
  }

  it('the first stops after the step with a checkpoint and exit 0', async () => {
    const { run, root, before } = await training();
    run.child.kill('SIGINT');
    const exit = await exitWithin(run, 60, 'Ctrl-C');
    expect(exit, run.stderr()).to.deep.equal({ code: 0, signal: null });
    expect(run.stderr()).to.contain(INTERRUPTED);
    await nothingLost(root, before);
    // It names its newest checkpoint as the model, and that one is there.
    const model = /^model: (.*)$/m.exec(run.stdout())?.[1];
    expect(model, run.stdout()).to.be.a('string');
    expect(path.dirname(model!)).to.equal((await listCheckpoints(root)).at(-1));
    // It says it stopped early, in its output and its summary.
    const { iteration: iterations } = (await readCheckpoint((await listCheckpoints(root)).at(-1)!))
      .state;
    expect(run.stdout()).to.contain(
      `stopped at iteration ${iterations} of 2000; train --resume continues the run`,
    );
    const summary = JSON.parse(
      await fs.readFile(path.join(path.dirname(root), 'summary.json'), 'utf8'),
    ) as { stopped: boolean; iterations: number; totalIterations: number };
    expect(summary).to.include({ stopped: true, iterations, totalIterations: 2000 });
  });

  it("SIGTERM (a scheduler's stop) does the same: a checkpoint, then exit 0", async () => {
    const { run, root, before } = await training();
    run.child.kill('SIGTERM');
    const exit = await exitWithin(run, 60, 'SIGTERM');
    expect(exit, run.stderr()).to.deep.equal({ code: 0, signal: null });
    expect(run.stderr()).to.contain('SIGTERM: stopping after this step and writing a checkpoint');
    await nothingLost(root, before);
    expect(run.stdout()).to.match(/stopped at iteration \d+ of 2000/);
  });

  it('the second quits at once with exit 130 while a step runs, losing no checkpoint', async () => {
    const { run, root, before } = await training();
    run.child.kill('SIGINT');
    await until('the first Ctrl-C to be taken', 30_000, () => run.stderr().includes(INTERRUPTED));
    const second = performance.now();
    run.child.kill('SIGINT');
    const exit = await exitWithin(run, 30, 'Ctrl-C');
    const seconds = (performance.now() - second) / 1000;
    expect(exit, run.stderr()).to.deep.equal({ code: 130, signal: null });
    // At once: no more than the step that was running (about a second here) and the exit.
    expect(seconds).to.be.below(15);
    expect(run.stdout()).to.not.contain('model:'); // it did not go on to finish the run
    expect(run.stderr().trim().split('\n').at(-1)).to.equal('sphereface train: stopped by SIGINT');
    await nothingLost(root, before);
  });
});

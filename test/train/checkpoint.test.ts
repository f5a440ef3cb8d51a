import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  latestCheckpoint,
  listCheckpoints,
  readCheckpoint,
  writeCheckpoint,
} from '../../lib/train/checkpoint';
import { checkpointStateOf, FakeModel, loadFakeModel } from './fakes';

describe('checkpoints', () => {
  it('survive a SIGKILL during the next checkpoint write', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-kill-'));
    const child = spawn(process.execPath, [path.join(__dirname, 'checkpoint-writer.js'), root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('halfway')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    await new Promise((resolve) => child.once('exit', resolve));

    // The half-written checkpoint exists on disk but is never listed or loaded.
    const entries = await fs.readdir(root);
    expect(entries.some((e) => e.startsWith('.iter-00000002.') && e.endsWith('.tmp'))).to.equal(
      true,
    );
    const latest = await latestCheckpoint(root);
    expect(path.basename(latest!.dir)).to.equal('iter-00000001');
    expect(latest!.state.iteration).to.equal(1);
    const model = await loadFakeModel(latest!.modelPath);
    expect(model.weights[0]).to.equal(1);
    expect(model.steps).to.equal(1);

    // The next checkpoint written cleans the killed run's leftovers.
    const state = { ...latest!.state, iteration: 3 };
    await writeCheckpoint(root, model, state, 3);
    expect(await fs.readdir(root)).to.deep.equal(['iter-00000001', 'iter-00000003']);
  });

  it('reports a missing or damaged checkpoint naming the file', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-ckpt-'));
    let error: unknown;
    await readCheckpoint(root).catch((e: unknown) => (error = e));
    expect(String(error)).to.contain(`no checkpoint found in ${root}`);
    const model = new FakeModel(2);
    const written = await writeCheckpoint(root, model, checkpointStateOf(model, 5), 0);
    expect(await listCheckpoints(root)).to.deep.equal([written.dir]);
    await fs.writeFile(path.join(written.dir, 'state.json'), '{"version": 1, "iter');
    error = undefined;
    await readCheckpoint(written.dir).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/state\.json is not valid JSON/);
  });
});

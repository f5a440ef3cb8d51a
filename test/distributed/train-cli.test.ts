// `sphereface train` distributed, as users run it: --nproc 2 on a synthetic set (one set of
// checkpoints and reports, then --resume), Ctrl-C on the launcher (once: every worker stops after
// the same step and writes one checkpoint; twice: the workers are killed), and workers started
// as torchrun does, one killed mid-run: the other must exit non-zero, naming it, within its
// timeout.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { preparedStoreDir } from '../../lib/cli/datasets';
import { listCheckpoints, readCheckpoint } from '../../lib/train/checkpoint';
import { readMetrics } from '../../lib/train/metrics-log';
import {
  jsonLines,
  sphereface,
  startSphereface,
  tempDir,
  tinyFaces,
  until,
} from '../cli/cli-helpers';
import { freePort, requireGloo, startRanks } from './helpers';

const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'sphereface.js');

async function batchIterations(out: string): Promise<number[]> {
  const metrics = await readMetrics(path.join(out, 'metrics.jsonl')).catch(() => []);
  return metrics.flatMap((m) => (m.type === 'batch' ? [m.iteration as number] : []));
}

/** Every checkpoint folder complete and readable, and nothing else in the checkpoints folder. */
async function expectWholeCheckpoints(out: string): Promise<number[]> {
  const root = path.join(out, 'checkpoints');
  const listed = await listCheckpoints(root);
  expect(await fs.readdir(root)).to.have.members(listed.map((dir) => path.basename(dir)));
  const iterations = [];
  for (const dir of listed) iterations.push((await readCheckpoint(dir)).state.iteration);
  return iterations;
}

/** The processes (other than `except`) whose command line names `out`: a run's workers. */
function processesNaming(out: string, except: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return table
    .split('\n')
    .filter((line) => line.includes(out))
    .map((line) => Number.parseInt(line.trim(), 10))
    .filter((pid) => pid !== except);
}

describe('sphereface train, distributed', function () {
  before(function () {
    requireGloo(this);
  });

  it('--nproc 2 trains once, writes one set of checkpoints and reports, and resumes', async () => {
    const faces = await tinyFaces();
    const out = await tempDir();
    const args = [
      'train',
      ...['--data', faces.trainDir, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
      ...['--arch', 'sphere-cnn4', '--batch-size', '8', '--lr', '0.01'],
      ...['--checkpoint-every', '2it', '--out', out, '--nproc', '2', '--threads', '1'],
    ];
    const first = await sphereface([...args, '--iterations', '4']);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stderr).to.match(/starting 2 workers: ranks 0\.\.1 of 2/);
    // Rank 0 alone prints and writes.
    expect(first.stdout.match(/^model: /gm)).to.have.length(1);
    expect(first.stdout.match(/held-out accuracy/g)).to.have.length(1);
    expect(await batchIterations(out)).to.deep.equal([1, 2, 3, 4]);
    expect(await expectWholeCheckpoints(out)).to.deep.equal([2, 4]);
    const runIds = new Set<string>();
    for (const dir of await listCheckpoints(path.join(out, 'checkpoints'))) {
      runIds.add((await readCheckpoint(dir)).state.runId);
    }
    expect(runIds.size).to.equal(1);
    await fs.access(path.join(out, 'report.md'));

    const second = await sphereface([...args, '--iterations', '6', '--resume']);
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stdout.match(/resuming from .* \(iteration 4\)/g)).to.have.length(1);
    expect(await batchIterations(out)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(await expectWholeCheckpoints(out)).to.deep.equal([2, 4, 6]);
    // Another batch size is refused by every rank as bad usage: the launcher exits 2 too.
    const resized = args.map((a, i) => (args[i - 1] === '--batch-size' ? '4' : a));
    const third = await sphereface([...resized, '--iterations', '20', '--resume']);
    expect(third.code, third.stderr).to.equal(2);
    expect(third.stderr).to.match(/is of a run with 3 batches an epoch; the data gives 6/);
    expect(await expectWholeCheckpoints(out)).to.deep.equal([2, 4, 6]);
  });

  for (const presses of [1, 2]) {
    const what =
      presses === 1
        ? 'stops every worker after the same step, with one checkpoint, at one Ctrl-C'
        : 'ends the workers at a second Ctrl-C, tidily, and exits 130';
    it(what, async () => {
      const faces = await tinyFaces();
      const out = await tempDir();
      // The second Ctrl-C must land while the workers are still in the step the first one let
      // them finish: a net whose step takes a second or more, not the tiny one's milliseconds.
      const [arch, batch] = presses === 2 ? ['sphere20', '16'] : ['sphere-cnn4', '8'];
      const launcher = startSphereface([
        'train',
        ...['--data', faces.trainDir, '--arch', arch, '--batch-size', batch],
        ...['--iterations', '100000', '--checkpoint-every', '100000it', '--out', out],
        ...['--nproc', '2', '--threads', '1'],
      ]);
      try {
        await until(
          'the run to start',
          90_000,
          async () => (await batchIterations(out)).length >= 3,
        );
        const workers = processesNaming(out, launcher.child.pid!);
        expect(workers, 'the two workers').to.have.length(2);
        launcher.child.kill('SIGINT');
        if (presses === 2) {
          // Two signals sent at once can arrive as one: the second goes once the first is seen.
          await until('the first Ctrl-C to be passed on', 30_000, async () =>
            /interrupted: the workers stop/.test(launcher.stderr()),
          );
          launcher.child.kill('SIGINT');
        }
        const { code } = await launcher.exit;
        expect(launcher.stderr()).to.match(/interrupted: the workers stop after this step/);
        expect(processesNaming(out, launcher.child.pid!), 'workers left running').to.deep.equal([]);
        if (presses === 1) {
          expect(code, launcher.stderr()).to.equal(0);
          const logged = await batchIterations(out);
          // Both ranks stopped at the step rank 0 logged last, and that step was checkpointed.
          expect(await expectWholeCheckpoints(out)).to.deep.equal([logged.at(-1)]);
          expect(launcher.stdout().match(/^model: /gm)).to.have.length(1);
        } else {
          expect(code, launcher.stderr()).to.equal(130);
          expect(launcher.stderr().trim().split('\n').at(-1)).to.equal(
            'sphereface train: stopped by SIGINT; a second signal ended the workers (the ' +
              'checkpoints and shards they finished stay)',
          );
          // The workers, asked to quit, removed their run lock (or the launcher, for one killed),
          // and any checkpoint being written at the time.
          expect(await fs.readdir(out)).to.not.include('train.lock');
          const checkpoints = await fs.readdir(path.join(out, 'checkpoints')).catch(() => []);
          expect(checkpoints.filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
        }
      } finally {
        launcher.child.kill('SIGKILL');
      }
    });
  }

  it('--json: a Ctrl-C while the workers start ends in one interrupted error line, exit 130', async () => {
    const faces = await tinyFaces();
    const out = await tempDir();
    const launcher = startSphereface([
      'train',
      ...['--data', faces.trainDir, '--arch', 'sphere-cnn4', '--batch-size', '8'],
      ...['--epochs', '30', '--out', out, '--nproc', '2', '--threads', '1', '--json'],
    ]);
    try {
      // At once: the workers are still loading, before their handlers are in place (or, on a
      // fast machine, just after: then rank 0 tells it). One error line either way.
      await until('the workers to be started', 60_000, async () =>
        launcher.stderr().includes('starting 2 workers'),
      );
      launcher.child.kill('SIGINT');
      const { code } = await launcher.exit;
      expect(code, launcher.stderr()).to.equal(130);
      const errors = jsonLines(launcher.stderr()).filter((l) => l.error !== undefined);
      expect(errors, launcher.stderr()).to.have.length(1);
      expect(errors[0]).to.include({ kind: 'interrupted' });
      expect(errors[0].error).to.match(/^sphereface train: (rank \d: )?stopped by SIGINT/);
    } finally {
      launcher.child.kill('SIGKILL');
    }
  });

  it('stops at a Ctrl-C while rank 0 prepares the store: exit 130, no rank counted as failed', async () => {
    // Large photos, so that preparing them outlasts the signal: rank 1 waits at the barrier.
    const data = path.join(await tempDir(), 'photos');
    for (let k = 0; k < 48; k++) {
      const file = path.join(data, `id${k % 4}`, `${k}.jpg`);
      await fs.mkdir(path.dirname(file), { recursive: true });
      const noise = Buffer.from(
        Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7 + k * 13) % 256),
      );
      await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
        .resize(2000, 2000)
        .jpeg()
        .toFile(file);
    }
    const out = await tempDir();
    const size = { height: 96, width: 96 }; // sphere-cnn4's input
    const store = preparedStoreDir(path.join(out, 'cache'), data, size, false);
    const launcher = startSphereface([
      'train',
      ...['--data', data, '--arch', 'sphere-cnn4', '--batch-size', '8', '--epochs', '1'],
      ...['--out', out, '--nproc', '2', '--threads', '1'],
    ]);
    try {
      await until('rank 0 to start preparing', 90_000, async () => {
        if (launcher.child.exitCode !== null) throw new Error(launcher.stderr());
        return (await fs.readdir(store).catch((): string[] => [])).includes('prepare.lock');
      });
      launcher.child.kill('SIGINT');
      const { code } = await launcher.exit;
      expect(code, launcher.stderr()).to.equal(130);
      const stderr = launcher.stderr();
      expect(stderr).to.include('once the shards being written are recorded');
      expect(stderr).to.match(/rank 0 stopped \(exited with code 130\)/);
      expect(stderr).to.match(/rank 1 stopped \(exited with (signal SIGINT|code 130)\)/);
      expect(stderr, 'no rank reported as failed').not.to.match(/rank \d exited/);
      // The lock is released (and the folder, empty, removed, when no shard was finished).
      expect(await fs.readdir(store).catch((): string[] => [])).not.to.include('prepare.lock');
    } finally {
      launcher.child.kill('SIGKILL');
    }
  });

  it('--nproc 2 --json: a run failing on every rank gives one JSON error, the other ranks notes', async () => {
    const faces = await tinyFaces();
    const out = await tempDir();
    const run = await sphereface([
      'train',
      ...['--data', faces.trainDir, '--arch', 'sphere-cnn4', '--batch-size', '8'],
      ...['--iterations', '3', '--lr=1e30', '--out', out, '--nproc', '2', '--json'],
    ]);
    expect(run.code, run.stderr).to.equal(1);
    const lines = jsonLines(run.stderr);
    const errors = lines.filter((l) => l.error !== undefined);
    expect(errors, run.stderr).to.have.length(1);
    expect(errors[0].error).to.match(/^sphereface train: /);
    expect(
      lines.some((l) => /^sphereface train: rank 1: /.test(l.note ?? '')),
      run.stderr,
    ).to.equal(true);
  });

  for (const killed of [1, 0]) {
    it(`makes the other worker exit non-zero naming rank ${killed} when it is killed mid-run`, async () => {
      const faces = await tinyFaces();
      const out = await tempDir();
      const port = await freePort();
      const ranks = startRanks(2, port, BIN, [
        'train',
        ...['--data', faces.trainDir, '--arch', 'sphere-cnn4', '--batch-size', '8'],
        ...['--iterations', '1000', '--checkpoint-every', '3it', '--out', out],
        ...['--dist-timeout', '3'],
      ]);
      try {
        await until(
          'the run to start',
          90_000,
          async () => (await batchIterations(out)).length >= 4,
        );
        ranks[killed].child.kill('SIGKILL');
        const killedAt = performance.now();
        const survivor = ranks[1 - killed];
        const code = await survivor.exited;
        expect(code, survivor.stderr).to.equal(1);
        expect(survivor.stderr).to.match(new RegExp(`rank ${1 - killed}: lost rank ${killed}`));
        // Within the timeout (3 s of silence) and what the loaded machine adds.
        expect(performance.now() - killedAt).to.be.below(30_000);
        await expectWholeCheckpoints(out);
      } finally {
        for (const r of ranks) r.child.kill('SIGKILL');
      }
    });
  }

  it('--nproc 2 exits 1 when a worker is killed, the other naming it at once, and leaves no worker running', async () => {
    const faces = await tinyFaces();
    const out = await tempDir();
    // The default --dist-timeout (300 s): a lost rank's silence would take 30 s to show, but the
    // launcher tells the other worker as soon as it sees the kill.
    const launcher = startSphereface([
      'train',
      ...['--data', faces.trainDir, '--arch', 'sphere-cnn4', '--batch-size', '8'],
      ...['--iterations', '100000', '--checkpoint-every', '100000it', '--out', out],
      ...['--nproc', '2', '--threads', '1'],
    ]);
    try {
      await until('the run to start', 90_000, async () => (await batchIterations(out)).length >= 3);
      const workers = processesNaming(out, launcher.child.pid!);
      expect(workers, 'the two workers').to.have.length(2);
      process.kill(workers[1], 'SIGKILL');
      const killedAt = performance.now();
      const { code } = await launcher.exit;
      expect(code, launcher.stderr()).to.equal(1);
      const [, killed] = /rank (\d) exited with signal SIGKILL/.exec(launcher.stderr()) ?? [];
      expect(killed, launcher.stderr()).to.be.a('string');
      expect(launcher.stderr()).to.contain(
        `rank ${1 - Number(killed)}: lost rank ${killed} (exited with signal SIGKILL)`,
      );
      expect(performance.now() - killedAt).to.be.below(20_000);
      expect(processesNaming(out, launcher.child.pid!), 'workers left running').to.deep.equal([]);
    } finally {
      launcher.child.kill('SIGKILL');
    }
  });

  it('NNODES > 1 with one worker a machine launches it as a rank; bad layouts are refused', async () => {
    const faces = await tinyFaces();
    const out = await tempDir();
    const args = ['train', '--data', faces.trainDir, '--out', out, '--iterations', '2'];
    const port = String(await freePort());
    const env = { NNODES: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port };
    // Machine 1 of 2 alone: its worker is rank 1 and waits for rank 0, which never comes.
    const alone = await sphereface([...args, '--dist-timeout', '1.5'], {
      env: { ...env, NODE_RANK: '1' },
    });
    expect(alone.code).to.equal(1);
    expect(alone.stderr).to.contain('starting 1 worker: ranks 1..1 of 2');
    expect(alone.stderr).to.match(/rank 1: could not reach the rendezvous store at 127\.0\.0\.1/);
    expect(await fs.readdir(out)).to.deep.equal([]);
    const refused = [
      [{ ...env, NODE_RANK: '3' }, "NODE_RANK must be an integer in 0..1, got '3'"],
      [{ RANK: '0' }, 'RANK is set (0) but WORLD_SIZE is not: set both, as torchrun does'],
    ] as const;
    for (const [variables, message] of refused) {
      const r = await sphereface(args, { env: variables });
      expect([r.code, r.stderr.trim()]).to.deep.equal([2, `sphereface train: ${message}`]);
    }
    const split = await sphereface([...args, '--nproc', '2', '--batch-size', '1']);
    expect([split.code, split.stderr.trim()]).to.deep.equal([
      2,
      'sphereface train: 2 ranks need --batch-size 2 or more (each takes part of every batch), got 1',
    ]);
  });

  it('a worker whose rank 0 never comes says so in the one error line, no native log', async () => {
    const faces = await tinyFaces();
    const out = await tempDir();
    const env = { RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1' };
    const r = await sphereface(
      [
        'train',
        '--data',
        faces.trainDir,
        '--out',
        out,
        '--iterations',
        '2',
        '--dist-timeout',
        '1.5',
      ],
      { env: { ...env, MASTER_PORT: String(await freePort()) } },
    );
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      /^sphereface train: rank 1: could not reach the rendezvous store at 127\.0\.0\.1:\d+ within 1\.5 s: rank 0 did not arrive \([^\n]*\)\n?$/,
    );
  });
});

// The Trainer as ranks of one run, two in this process (each model and group has its own native
// thread, so their collectives meet): who writes, who evaluates, stopping together, resuming.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel, loadModel, type Model } from '../../lib/models/model';
import { DataLoader } from '../../lib/data/data-loader';
import { ProcessGroup } from '../../lib/dist/process-group';
import { listCheckpoints, readCheckpoint } from '../../lib/train/checkpoint';
import { readMetrics } from '../../lib/train/metrics-log';
import { Trainer, type TrainerOptions } from '../../lib/train/trainer';
import type { BatchRecord } from '../../lib/train/trainer-events';
import { syntheticIdentities } from '../models/synthetic-identities';
import { freePort, requireGloo } from './helpers';
import { expectSameTensors, readModelFileTensors } from './model-file-tensors';

const set = {
  ...syntheticIdentities({ identities: 4, imagesPerIdentity: 4, height: 96, width: 96, seed: 9 }),
  height: 96,
  width: 96,
};

async function joinTwo(): Promise<ProcessGroup[]> {
  const masterPort = await freePort();
  return Promise.all(
    [0, 1].map((rank) => ProcessGroup.join({ rank, worldSize: 2, masterPort, timeoutMs: 30_000 })),
  );
}

function newModels(): Promise<Model[]> {
  return Promise.all(
    [0, 1].map((rank) =>
      createModel({
        arch: 'sphere-cnn4',
        classes: 4,
        head: { kind: 'sphere', m: 4 },
        device: 'cpu',
        seed: 3 + rank,
      }),
    ),
  );
}

type RankOptions = Omit<TrainerOptions, 'model' | 'data' | 'distributed'>;

/** Two ranks' Trainers over one run, each given `options(rank)`; `setup` sees them first. */
async function trainTwo(
  models: Model[],
  options: (rank: number) => RankOptions,
  setup: (trainers: Trainer[]) => void = () => {},
) {
  const groups = await joinTwo();
  const trainers = [0, 1].map(
    (rank) =>
      new Trainer({
        model: models[rank],
        data: new DataLoader(set, { batchSize: 8, seed: 2, classes: 4, rank, worldSize: 2 }),
        optimizer: { lr: 0.05 },
        distributed: groups[rank],
        ...options(rank),
      }),
  );
  const records: BatchRecord[][] = [[], []];
  trainers.forEach((t, rank) => t.on('batch', (b) => void records[rank].push(b)));
  setup(trainers);
  const fits = trainers.map((t) => t.fit());
  try {
    const histories = await Promise.all(fits);
    await Promise.all(groups.map((g) => g.leave()));
    return { histories, records };
  } finally {
    for (const g of groups) g.dispose();
    // A rank that failed leaves the other's fit() to end on the disposed group: the models are
    // its until it has.
    await Promise.allSettled(fits);
  }
}

async function withModels<T>(models: Promise<Model[]>, body: (models: Model[]) => Promise<T>) {
  const made = await models;
  try {
    return await body(made);
  } finally {
    for (const m of made) m.dispose();
  }
}

describe('Trainer, distributed', function () {
  let dir: string;
  before(function () {
    requireGloo(this);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-ddp-trainer-'));
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('lets rank 0 alone write and evaluate, each record counting every rank', async () => {
    const out = [path.join(dir, 'write0'), path.join(dir, 'write1')];
    const evaluated = [0, 0];
    await withModels(newModels(), async (models) => {
      const { histories, records } = await trainTwo(models, (rank) => ({
        iterations: 7,
        outDir: out[rank],
        checkpointEvery: { iterations: 2 },
        evalEvery: { iterations: 3 },
        evaluator: {
          evaluate: async () => {
            evaluated[rank]++;
            return { accuracy: 0.5 };
          },
        },
      }));
      expect(histories.map((h) => h.iterations)).to.deep.equal([7, 7]);
      expect(records[0].map((r) => r.n)).to.deep.equal(new Array(7).fill(8)); // 4 + 4 images
      expect(records[1].map((r) => r.loss)).to.deep.equal(records[0].map((r) => r.loss));
      expect(evaluated).to.deep.equal([3, 0]); // after iterations 3 and 6, and at the end
      expect(histories[0].evals.length).to.equal(3);
      expect(histories[1].evals.length).to.equal(0);
      expect(fs.existsSync(out[1])).to.equal(false);
      const metrics = await readMetrics(path.join(out[0], 'metrics.jsonl'));
      expect(metrics.filter((m) => m.type === 'batch').length).to.equal(7);
      const checkpoints = await listCheckpoints(path.join(out[0], 'checkpoints'));
      expect(checkpoints.length).to.equal(3); // the newest 3 of 2, 4, 6, 7 (keepCheckpoints)
    });
  });

  it('stops every rank after the same step when one rank is asked to stop', async () => {
    await withModels(newModels(), async (models) => {
      const { histories } = await trainTwo(
        models,
        () => ({ iterations: 50 }),
        (trainers) => {
          // Asked during step 3's event: the ranks agree on it after step 4.
          trainers[1].on('batch', (b) => {
            if (b.iteration === 3) trainers[1].stop();
          });
        },
      );
      expect(histories.map((h) => [h.iterations, h.stopped])).to.deep.equal([
        [4, true],
        [4, true],
      ]);
    });
  });

  it('resumes from a checkpoint to the bits of a run that was not interrupted', async () => {
    const whole = [path.join(dir, 'whole'), path.join(dir, 'whole1')];
    const part = [path.join(dir, 'part'), path.join(dir, 'part1')];
    const settings = { iterations: 5, checkpointEvery: { iterations: 2 }, keepCheckpoints: 0 };
    await withModels(newModels(), (models) =>
      trainTwo(models, (rank) => ({ ...settings, outDir: whole[rank] })),
    );
    await withModels(newModels(), (models) =>
      trainTwo(models, (rank) => ({ ...settings, iterations: 2, outDir: part[rank] })),
    );
    // Every rank resumes from the same checkpoint (rank 0's), as a shared folder gives them.
    const checkpoint = await readCheckpoint(path.join(part[0], 'checkpoints'));
    expect(checkpoint.state.iteration).to.equal(2);
    const resumed = Promise.all([0, 1].map(() => loadModel(checkpoint.modelPath)));
    await withModels(resumed, (models) =>
      trainTwo(models, (rank) => ({ ...settings, outDir: part[rank], resume: checkpoint })),
    );
    const last = async (root: string) =>
      readModelFileTensors((await readCheckpoint(path.join(root, 'checkpoints'))).modelPath);
    const [a, b] = [await last(whole[0]), await last(part[0])];
    expect(b.steps).to.equal(5);
    expectSameTensors(b, a);
  });

  it('names the last good checkpoint on every rank when the loss diverges', async () => {
    const out = path.join(dir, 'diverged');
    await withModels(newModels(), async (models) => {
      // Both ranks see the same reduced loss; here step 5's is made NaN on each.
      for (const model of models) {
        const step = model.trainStep.bind(model);
        let steps = 0;
        model.trainStep = async (input) => {
          const result = await step(input);
          return ++steps === 5 ? { ...result, loss: NaN } : result;
        };
      }
      const groups = await joinTwo();
      try {
        const settled = await Promise.allSettled(
          [0, 1].map((rank) =>
            new Trainer({
              model: models[rank],
              data: new DataLoader(set, { batchSize: 8, seed: 2, classes: 4, rank, worldSize: 2 }),
              iterations: 9,
              checkpointEvery: { iterations: 2 },
              outDir: path.join(out, String(rank)),
              distributed: groups[rank],
            }).fit(),
          ),
        );
        const messages = settled.map((r) => (r.status === 'rejected' ? String(r.reason) : ''));
        expect(messages[0]).to.contain(
          `the last good checkpoint is ${path.join(out, '0', 'checkpoints', 'iter-00000004')}`,
        );
        expect(messages[1]).to.contain('rank 0 wrote the last good checkpoint, at iteration 4');
      } finally {
        for (const g of groups) g.dispose();
      }
    });
  });

  it('refuses ranks that would step with another learning rate or schedule, before any step', async () => {
    const cases: [(rank: number) => RankOptions, RegExp][] = [
      [
        (rank) => ({ iterations: 2, optimizer: { lr: rank === 0 ? 0.05 : 0.04 } }),
        /the ranks differ in lr \(here lr 0\.0[45]\)/,
      ],
      [
        (rank) => ({ iterations: 2, schedule: { kind: rank === 0 ? 'constant' : 'cosine' } }),
        /the ranks differ in schedule \(digest\) \(here schedule \(digest\) \d+\)/,
      ],
    ];
    for (const [options, message] of cases) {
      await withModels(newModels(), async (models) => {
        const stepped: number[] = [];
        const failed = await trainTwo(models, options, (trainers) =>
          trainers.forEach((t) => t.on('batch', (b) => void stepped.push(b.iteration))),
        ).catch((e: Error) => e);
        expect((failed as Error).message).to.match(message);
        expect(stepped).to.deep.equal([]);
      });
    }
  });

  it('refuses data that serves another rank, naming both', async () => {
    await withModels(newModels(), async (models) => {
      const groups = await joinTwo();
      try {
        const trainer = new Trainer({
          model: models[1],
          data: new DataLoader(set, { batchSize: 8, classes: 4 }),
          iterations: 1,
          distributed: groups[1],
        });
        let message = '';
        await trainer.fit().catch((e: Error) => (message = e.message));
        expect(message).to.match(/the data serves rank 0 of 1 but this process is rank 1 of 2/);
      } finally {
        for (const g of groups) g.dispose();
      }
    });
  });
});

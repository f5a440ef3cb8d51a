import { expect } from 'chai';
import * as crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { learningRate } from '../../lib/train/schedule';
import { lambdaAt, DEFAULT_LAMBDA } from '../../lib/train/lambda-schedule';
import { latestCheckpoint, listCheckpoints, readCheckpoint } from '../../lib/train/checkpoint';
import { readMetrics } from '../../lib/train/metrics-log';
import { NonFiniteLossError, Trainer, type TrainerOptions } from '../../lib/train/trainer';
import { DataLoader } from '../../lib/data/data-loader';
import { RandomCrop } from '../../lib/data/transforms/random-crop';
import { RandomHorizontalFlip } from '../../lib/data/transforms/random-horizontal-flip';
import { FakeBatchSource, FakeModel, loadFakeModel } from './fakes';
import { rejection } from '../rejection';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'sphereface-trainer-'));
}

describe('Trainer', () => {
  it('runs every batch of every epoch with the scheduled lr and lambda', async () => {
    const model = new FakeModel(5);
    const data = new FakeBatchSource(5, 4);
    const schedule = { kind: 'cosine', warmup: 3 } as const;
    const trainer = new Trainer({
      model,
      data,
      epochs: 3,
      optimizer: { lr: 0.5 },
      schedule,
    });
    const history = await trainer.fit();
    expect(history.iterations).to.equal(12);
    expect(history.epochs.map((e) => e.epoch)).to.deep.equal([1, 2, 3]);
    expect(data.served).to.deep.equal([0, 1, 2].flatMap((e) => [0, 1, 2, 3].map((b) => [e, b])));
    model.calls.forEach((call, i) => {
      expect(call.lr).to.equal(learningRate(schedule, 0.5, i, 12));
      expect(call.lambda).to.equal(lambdaAt(DEFAULT_LAMBDA, i + 1));
      // The original's counter: 1000 / (1 + 0.12 k) at the k-th step, from 1.
      expect(call.lambda).to.be.closeTo(1000 / (1 + 0.12 * (i + 1)), 1e-9);
      expect(call.momentum).to.equal(0.9);
      expect(call.weightDecay).to.equal(5e-4);
    });
    // The epoch loss is the mean of its batches' losses, computed here independently.
    const losses: number[] = [];
    const again = new FakeModel(5);
    for (const call of model.calls) losses.push((await again.trainStep(call)).loss);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    history.epochs.forEach((e, i) => {
      expect(e.loss).to.be.closeTo(mean(losses.slice(4 * i, 4 * i + 4)), 1e-12);
    });
  });

  it('stops after a number of iterations, mid-epoch', async () => {
    const model = new FakeModel(3);
    const data = new FakeBatchSource(3, 4);
    const history = await new Trainer({ model, data, iterations: 6 }).fit();
    expect(model.calls.length).to.equal(6);
    expect(history.epochs.length).to.equal(1);
    expect(data.served.at(-1)).to.deep.equal([1, 1]);
  });

  it('keeps a stop() called before fit(): fit() takes no step and resolves stopped', async () => {
    const model = new FakeModel(3);
    const dir = await tempDir();
    const trainer = new Trainer({ model, data: new FakeBatchSource(3, 4), epochs: 2, outDir: dir });
    trainer.stop();
    const history = await trainer.fit();
    expect(model.calls.length).to.equal(0);
    expect(history.stopped).to.equal(true);
    expect(history.iterations).to.equal(0);
    expect((await latestCheckpoint(path.join(dir, 'checkpoints')))?.state.iteration).to.equal(0);
  });

  it('awaits event handlers in order before the next step', async () => {
    const model = new FakeModel(3);
    const data = new FakeBatchSource(3, 2);
    const seen: string[] = [];
    const trainer = new Trainer({
      model,
      data,
      epochs: 2,
      evalEvery: 1,
      evaluator: {
        evaluate: async () => {
          seen.push(`evaluate@${model.calls.length}`);
          return { accuracy: 0.5, std: 0.1 };
        },
      },
    });
    trainer.on('batch', async (b) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push(`batch${b.iteration}@${model.calls.length}`);
    });
    // Handlers may return what they compute (a push's length): only promises are awaited.
    trainer.on('epoch', (e) => seen.push(`epoch${e.epoch}`));
    trainer.on('eval', (e) => seen.push(`eval${e.epoch}:${e.result.accuracy}`));
    const history = await trainer.fit();
    expect(seen).to.deep.equal([
      'batch1@1',
      'batch2@2',
      'epoch1',
      'evaluate@2',
      'eval1:0.5',
      'batch3@3',
      'batch4@4',
      'epoch2',
      'evaluate@4',
      'eval2:0.5',
    ]);
    expect(history.evals.length).to.equal(2);
  });

  it('refuses a second concurrent fit()', async () => {
    const trainer = new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 3),
      epochs: 1,
    });
    const first = trainer.fit();
    let error: unknown;
    await trainer.fit().catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/already running/);
    expect((await first).iterations).to.equal(3);
    // Nor a second fit() after it: it would start over from iteration 0 on a trained model.
    expect((await rejection(trainer.fit())).message).to.match(
      /^Trainer\.fit\(\) has trained with this Trainer already \(to iteration 3\); to train on, make a new Trainer with resume/,
    );
  });

  it("refuses a model that another Trainer's fit() is training", async () => {
    const model = new FakeModel(3);
    const options = { model, data: new FakeBatchSource(3, 3), epochs: 1 };
    const first = new Trainer(options).fit();
    const error = await rejection(new Trainer(options).fit());
    expect(error.message).to.match(/the model is being trained by another Trainer's fit\(\)/);
    expect((await first).iterations).to.equal(3);
    // Once that fit() is over, another Trainer may train it on.
    expect((await new Trainer(options).fit()).iterations).to.equal(3);
  });

  it('resumes from a checkpoint to the same losses as an uninterrupted run', async () => {
    const options = { epochs: 3, optimizer: { lr: 0.3 }, schedule: { kind: 'cosine' } as const };
    const fullDir = await tempDir();
    const full = new FakeModel(4);
    await new Trainer({
      model: full,
      data: new FakeBatchSource(4, 5),
      outDir: fullDir,
      checkpointEvery: { iterations: 4 },
      ...options,
    }).fit();

    // Stop after 7 steps: the stop writes a checkpoint at iteration 7, mid-epoch 2.
    const dir = await tempDir();
    const first = new FakeModel(4);
    const interrupted = new Trainer({
      model: first,
      data: new FakeBatchSource(4, 5),
      outDir: dir,
      checkpointEvery: { iterations: 4 },
      ...options,
    });
    interrupted.on('batch', (b) => {
      if (b.iteration === 7) interrupted.stop();
    });
    const part = await interrupted.fit();
    expect(part.stopped).to.equal(true);
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    expect(checkpoint?.state.iteration).to.equal(7);
    expect([checkpoint?.state.epoch, checkpoint?.state.batch]).to.deep.equal([1, 2]);

    const resumedModel = await loadFakeModel(checkpoint!.modelPath);
    const data = new FakeBatchSource(4, 5);
    const rest = await new Trainer({
      model: resumedModel,
      data,
      outDir: dir,
      checkpointEvery: { iterations: 4 },
      resume: checkpoint,
      ...options,
    }).fit();
    expect(data.served[0]).to.deep.equal([1, 2]);
    expect(rest.iterations).to.equal(15);

    const batchLosses = async (d: string) =>
      (await readMetrics(path.join(d, 'metrics.jsonl')))
        .filter((r) => r.type === 'batch')
        .map((r) => [r.iteration, r.loss, r.lr, r.lambda]);
    const epochLosses = async (d: string) =>
      (await readMetrics(path.join(d, 'metrics.jsonl')))
        .filter((r) => r.type === 'epoch')
        .map((r) => [r.epoch, r.loss, r.accuracy]);
    expect(await batchLosses(dir)).to.deep.equal(await batchLosses(fullDir));
    expect(await epochLosses(dir)).to.deep.equal(await epochLosses(fullDir));
    expect(Array.from(resumedModel.weights)).to.deep.equal(Array.from(full.weights));
  });

  it('resumes a DataLoader run at the same batches, flips and losses', async () => {
    const n = 22;
    const images = new Uint8Array(n * 4 * 4 * 3);
    for (let i = 0; i < images.length; i++) images[i] = (i * 7919) % 251;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const loader = () =>
      new DataLoader(
        { images, labels, n, height: 4, width: 4 },
        { batchSize: 4, seed: 5, transforms: [new RandomHorizontalFlip(0.5)] },
      );
    const options = { epochs: 3, optimizer: { lr: 0.2 } };
    const full = new FakeModel(3);
    await new Trainer({ model: full, data: loader(), ...options }).fit();

    const dir = await tempDir();
    const first = new FakeModel(3);
    const interrupted = new Trainer({ model: first, data: loader(), outDir: dir, ...options });
    interrupted.on('batch', (b) => {
      if (b.iteration === 8) interrupted.stop(); // mid-epoch 2 (6 batches per epoch)
    });
    await interrupted.fit();
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    const second = await loadFakeModel(checkpoint!.modelPath);
    await new Trainer({
      model: second,
      data: loader(),
      outDir: dir,
      resume: checkpoint,
      ...options,
    }).fit();

    const steps = [...first.calls, ...second.calls];
    expect(steps.length).to.equal(full.calls.length);
    steps.forEach((call, i) => {
      expect(Array.from(call.labels), `step ${i}`).to.deep.equal(Array.from(full.calls[i].labels));
      expect(Array.from(call.flip!), `step ${i}`).to.deep.equal(Array.from(full.calls[i].flip!));
      expect(Buffer.from(call.images).equals(Buffer.from(full.calls[i].images))).to.equal(true);
      expect(call.lr).to.equal(full.calls[i].lr);
    });
    expect(Array.from(second.weights)).to.deep.equal(Array.from(full.weights));
  });

  it('keeps only the newest checkpoints', async () => {
    const dir = await tempDir();
    await new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 2),
      epochs: 5,
      outDir: dir,
      keepCheckpoints: 2,
    }).fit();
    const names = (await listCheckpoints(path.join(dir, 'checkpoints'))).map((d) =>
      path.basename(d),
    );
    expect(names).to.deep.equal(['iter-00000008', 'iter-00000010']);
  });

  it('never deletes checkpoints another run wrote in the same folder', async () => {
    const dir = await tempDir();
    const root = path.join(dir, 'checkpoints');
    // An earlier, longer run keeps iter-00000010.
    await new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 5),
      epochs: 2,
      outDir: dir,
      keepCheckpoints: 1,
    }).fit();
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later savedAt
    // A new run checkpoints at 2, 4 and 6 and keeps its own newest two.
    await new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 2),
      epochs: 3,
      outDir: dir,
      keepCheckpoints: 2,
    }).fit();
    const names = (await listCheckpoints(root)).map((d) => path.basename(d));
    expect(names).to.deep.equal(['iter-00000004', 'iter-00000006', 'iter-00000010']);
    // The checkpoint to resume is the one written last, not the highest iteration.
    expect(path.basename((await latestCheckpoint(root))!.dir)).to.equal('iter-00000006');
  });

  it("saves beside another run's checkpoint of the same iteration, leaving it as it was", async () => {
    const dir = await tempDir();
    const root = path.join(dir, 'checkpoints');
    const run = (lr: number, keep: number) =>
      new Trainer({
        model: new FakeModel(3),
        data: new FakeBatchSource(3, 3),
        epochs: 2,
        optimizer: { lr },
        outDir: dir,
        keepCheckpoints: keep,
      }).fit();
    await run(0.1, 0);
    const first = await Promise.all(
      ['iter-00000003', 'iter-00000006'].map((name) => readCheckpoint(path.join(root, name))),
    );
    await new Promise((resolve) => setTimeout(resolve, 5)); // a later savedAt
    const second = await run(0.05, 1);
    const ours = second.lastCheckpoint!;
    expect(ours.dir).to.equal(path.join(root, `iter-00000006-${ours.state.runId}`));
    // The first run's are untouched; the second kept its newest one, beside them.
    for (const checkpoint of first) {
      expect(await readCheckpoint(checkpoint.dir)).to.deep.equal(checkpoint);
    }
    expect((await listCheckpoints(root)).map((d) => path.basename(d))).to.deep.equal([
      'iter-00000003',
      'iter-00000006',
      path.basename(ours.dir),
    ]);
    expect((await latestCheckpoint(root))!.dir).to.equal(ours.dir);
    expect(ours.state.optimizer.lr).to.equal(0.05);
    // Its resume continues it there.
    const resumed = await new Trainer({
      model: await loadFakeModel(ours.modelPath),
      data: new FakeBatchSource(3, 3),
      epochs: 3,
      optimizer: { lr: 0.05 },
      outDir: dir,
      keepCheckpoints: 1,
      resume: ours,
    }).fit();
    expect(resumed.lastCheckpoint!.dir).to.equal(path.join(root, `iter-00000009`));
    expect(resumed.lastCheckpoint!.state.runId).to.equal(ours.state.runId);
    expect((await listCheckpoints(root)).map((d) => path.basename(d))).to.deep.equal([
      'iter-00000003',
      'iter-00000006',
      'iter-00000009',
    ]);
  });

  it("refuses to resume with a model other than the checkpoint's, or with nothing left to train", async () => {
    const dir = await tempDir();
    const options = { data: new FakeBatchSource(3, 3), outDir: dir };
    await new Trainer({ model: new FakeModel(3), epochs: 2, ...options }).fit();
    const checkpoint = (await latestCheckpoint(path.join(dir, 'checkpoints')))!;
    expect(checkpoint.state.modelSteps).to.equal(6);
    const log = await fs.readFile(path.join(dir, 'metrics.jsonl'), 'utf8');
    const fresh = new FakeModel(3);
    const wrongModel = await rejection(
      new Trainer({ model: fresh, epochs: 3, resume: checkpoint, ...options }).fit(),
    );
    expect(wrongModel.message).to.equal(
      `checkpoint ${checkpoint.dir} saved a model that had taken 6 steps; this one has taken 0. ` +
        "Resume with the checkpoint's model: loadModel(checkpoint.modelPath)",
    );
    const finished = await rejection(
      new Trainer({
        model: await loadFakeModel(checkpoint.modelPath),
        epochs: 2,
        resume: checkpoint,
        ...options,
      }).fit(),
    );
    expect(finished.message).to.equal(
      'nothing to train: the checkpoint is at iteration 6 and the run ends at 6; give a longer epochs or iterations',
    );
    expect(fresh.steps).to.equal(0);
    expect(await fs.readFile(path.join(dir, 'metrics.jsonl'), 'utf8')).to.equal(log);
  });

  it('numbers an evaluation by the epochs completed, whether it goes by epochs or iterations', async () => {
    const places = async (evalEvery: TrainerOptions['evalEvery']) => {
      const history = await new Trainer({
        model: new FakeModel(3),
        data: new FakeBatchSource(3, 4),
        epochs: 2,
        evalEvery,
        evaluator: { evaluate: async () => ({ accuracy: 0.5 }) },
      }).fit();
      return history.evals.map((e) => [e.iteration, e.epoch]);
    };
    expect(await places({ iterations: 2 })).to.deep.equal([
      [2, 0],
      [4, 1], // epoch 1's last step, evaluated before its 'epoch' record
      [6, 1],
      [8, 2],
    ]);
    expect(await places({ epochs: 1 })).to.deep.equal([
      [4, 1],
      [8, 2],
    ]);
  });

  it('says which settings differ from the checkpoint it resumes', async () => {
    const dir = await tempDir();
    const first = new FakeModel(3);
    await new Trainer({
      model: first,
      data: new FakeBatchSource(3, 2),
      epochs: 1,
      outDir: dir,
    }).fit();
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    const resumed = new Trainer({
      model: await loadFakeModel(checkpoint!.modelPath),
      data: new FakeBatchSource(3, 2),
      epochs: 2,
      optimizer: { lr: 0.05 },
      outDir: dir,
      resume: checkpoint,
    });
    const changes: string[][] = [];
    resumed.on('resume', (r) => void changes.push(r.changes));
    await resumed.fit();
    expect(changes).to.have.length(1);
    expect(changes[0]).to.have.length(2);
    expect(changes[0][0]).to.match(/^optimizer .*"lr":0\.1.* -> .*"lr":0\.05/);
    expect(changes[0][1]).to.equal('totalIterations 2 -> 4');
  });

  it('refuses a second run into a folder while one trains there, and takes over a dead lock', async () => {
    const dir = await tempDir();
    const options = { data: new FakeBatchSource(3, 4), epochs: 2, outDir: dir };
    const first = new Trainer({ ...options, model: new FakeModel(3) });
    let second: Error | undefined;
    first.on('batch', async () => {
      if (second) return;
      second = await rejection(new Trainer({ ...options, model: new FakeModel(3) }).fit());
    });
    await first.fit();
    const lock = path.join(dir, 'train.lock');
    expect(second!.message).to.equal(
      `${dir} is in use by the training run of this process (${lock}): one at a time`,
    );
    // The first run's files are its own: one run's log, its checkpoint; the lock is gone.
    const log = await readMetrics(path.join(dir, 'metrics.jsonl'));
    expect(log.filter((r) => r.type === 'epoch')).to.have.length(2);
    expect((await fs.readdir(dir)).sort()).to.deep.equal(['checkpoints', 'metrics.jsonl']);
    // A lock left by a process that no longer runs is taken over.
    const gone = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    await fs.writeFile(lock, String(gone));
    const checkpoint = (await latestCheckpoint(path.join(dir, 'checkpoints')))!;
    const resumed = new Trainer({
      ...options,
      epochs: 3,
      model: await loadFakeModel(checkpoint.modelPath),
      resume: checkpoint,
    });
    expect((await resumed.fit()).iterations).to.equal(12);
    expect(await fs.stat(lock).catch(() => 'gone')).to.equal('gone');
  });

  it('records the schedule with its defaults, and reads the short form of older checkpoints', async () => {
    const dir = await tempDir();
    await new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 2),
      epochs: 1,
      outDir: dir,
    }).fit();
    const checkpoint = (await latestCheckpoint(path.join(dir, 'checkpoints')))!;
    expect(checkpoint.state.schedule).to.deep.equal({
      kind: 'multistep',
      milestones: [16000, 24000],
      gamma: 0.1,
      warmup: 0,
    });
    // A checkpoint written before schedules were recorded whole: the same run, so no change.
    const stateFile = path.join(checkpoint.dir, 'state.json');
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8'));
    await fs.writeFile(stateFile, JSON.stringify({ ...state, schedule: { kind: 'multistep' } }));
    const older = (await readCheckpoint(checkpoint.dir))!;
    const changes: string[][] = [];
    const resumed = new Trainer({
      model: await loadFakeModel(older.modelPath),
      data: new FakeBatchSource(3, 2),
      epochs: 2,
      schedule: { kind: 'multistep', milestones: [3] },
      outDir: dir,
      resume: older,
    });
    resumed.on('resume', (r) => void changes.push(r.changes));
    await resumed.fit();
    expect(changes).to.deep.equal([
      [
        'schedule {"kind":"multistep","milestones":[16000,24000],"gamma":0.1,"warmup":0} -> ' +
          '{"kind":"multistep","milestones":[3],"gamma":0.1,"warmup":0}',
        'totalIterations 2 -> 4',
      ],
    ]);
  });

  it("says which of the loader's order and augmentation settings differ from the checkpoint's", async () => {
    const n = 16;
    const set = {
      images: new Uint8Array(n * 4 * 4 * 3).map((_, i) => (i * 31) % 256),
      labels: Int32Array.from({ length: n }, (_, i) => i % 2),
      n,
      height: 4,
      width: 4,
    };
    const dir = await tempDir();
    await new Trainer({
      model: new FakeModel(2),
      data: new DataLoader(set, {
        batchSize: 4,
        seed: 3,
        transforms: [new RandomCrop(4, { padding: 2 }), new RandomHorizontalFlip(0.5)],
      }),
      epochs: 1,
      outDir: dir,
    }).fit();
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    expect(checkpoint!.state.loader).to.deep.equal({
      seed: 3,
      shuffle: true,
      dropLast: false,
      centerCrop: false,
      randomCrop: { height: 4, width: 4, padding: 2 },
      flip: 0.5,
    });
    const resumed = new Trainer({
      model: await loadFakeModel(checkpoint!.modelPath),
      data: new DataLoader(set, { batchSize: 4, seed: 4 }),
      epochs: 2,
      outDir: dir,
      resume: checkpoint,
    });
    const changes: string[][] = [];
    resumed.on('resume', (r) => void changes.push(r.changes));
    await resumed.fit();
    expect(changes).to.deep.equal([
      [
        'totalIterations 4 -> 8',
        'loader.seed 3 -> 4',
        'loader.randomCrop {"height":4,"width":4,"padding":2} -> false',
        'loader.flip 0.5 -> 0',
      ],
    ]);
  });

  it("logs an epoch once when the run died between its last step's checkpoint and the next", async () => {
    const dir = await tempDir();
    const dying = new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 2),
      epochs: 2,
      checkpointEvery: { iterations: 2 }, // at epoch 1's last step, before the epoch closes
      outDir: dir,
    });
    dying.on('epoch', () => {
      throw new Error('killed'); // after epoch 1's record is in the log
    });
    let error: Error | undefined;
    await dying.fit().catch((e: Error) => (error = e));
    expect(error?.message).to.equal('killed');
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    expect(checkpoint!.state).to.deep.include({ iteration: 2, epoch: 0, batch: 2 });
    await new Trainer({
      model: await loadFakeModel(checkpoint!.modelPath),
      data: new FakeBatchSource(3, 2),
      epochs: 2,
      outDir: dir,
      resume: checkpoint,
    }).fit();
    const epochs = (await readMetrics(path.join(dir, 'metrics.jsonl'))).filter(
      (r) => r.type === 'epoch',
    );
    expect(epochs.map((r) => [r.epoch, r.iteration])).to.deep.equal([
      [1, 2],
      [2, 4],
    ]);
  });

  it('refuses to resume on data labelled otherwise: the classes would stand for other people', async () => {
    const n = 18;
    const set = {
      images: new Uint8Array(n * 4 * 4 * 3).map((_, i) => (i * 31) % 256),
      labels: Int32Array.from({ length: n }, (_, i) => i % 3),
      n,
      height: 4,
      width: 4,
    };
    const dir = await tempDir();
    await new Trainer({
      model: new FakeModel(3),
      data: new DataLoader(set, { batchSize: 4, seed: 3 }),
      epochs: 1,
      outDir: dir,
    }).fit();
    const checkpoint = (await latestCheckpoint(path.join(dir, 'checkpoints')))!;
    // The digest of the labels as int32 little-endian bytes, then JSON null (no class names).
    const bytes = Buffer.alloc(4 * n);
    set.labels.forEach((label, i) => bytes.writeInt32LE(label, 4 * i));
    const digest = crypto.createHash('sha256').update(bytes).update('null').digest('hex');
    expect(checkpoint.state.labelling).to.deep.equal({ images: n, classes: 3, digest });
    expect(checkpoint.state.worldSize).to.equal(1);
    // The first identity gone and the others renumbered: as many images, classes and batches.
    const relabelled = { ...set, labels: set.labels.map((l) => (l + 1) % 3) };
    const resumed = new Trainer({
      model: await loadFakeModel(checkpoint.modelPath),
      data: new DataLoader(relabelled, { batchSize: 4, seed: 3 }),
      epochs: 2,
      outDir: dir,
      resume: checkpoint,
    });
    const message =
      `checkpoint ${checkpoint.dir} is of a run on other data: its 18 images of 3 classes were ` +
      "labelled otherwise than the 18 images of 3 classes given. The model's classes stand for " +
      "that run's identities: resume on the run's data, or start a new run";
    expect(() => resumed.checkCheckpoint(checkpoint)).to.throw(message);
    expect((await rejection(resumed.fit())).message).to.equal(message);
    // The same labels in another array resume.
    const again = new Trainer({
      model: await loadFakeModel(checkpoint.modelPath),
      data: new DataLoader({ ...set, labels: set.labels.slice() }, { batchSize: 4, seed: 3 }),
      epochs: 2,
      outDir: dir,
      resume: checkpoint,
    });
    expect((await again.fit()).iterations).to.equal(10);
  });

  it("names a rank count that changed the batches an epoch, and asks for the run's", () => {
    const set = {
      images: new Uint8Array(5 * 4 * 4 * 3),
      labels: Int32Array.from({ length: 5 }, (_, i) => i % 2),
      ...{ n: 5, height: 4, width: 4 },
    };
    // Two ranks leave out a last batch of one image: 1 batch an epoch where one process has 2.
    const trainer = new Trainer({
      model: new FakeModel(2),
      data: new DataLoader(set, { batchSize: 4 }),
      epochs: 3,
    });
    const state = { batchesPerEpoch: 1, worldSize: 2, classes: 2, arch: 'sphere-cnn4' };
    const checkpoint = { dir: 'run/checkpoints/iter-1', modelPath: 'm', state } as never;
    expect(() => trainer.checkCheckpoint(checkpoint)).to.throw(
      'checkpoint run/checkpoints/iter-1 is of a run with 1 batches an epoch; the data gives 2 ' +
        'with 1 rank, the run had 2 (a last batch of fewer images than ranks is left out). ' +
        "Resume with the run's batch size and data, on 2 ranks (its position in an epoch, and " +
        'the epochs left, mean nothing with others)',
    );
  });

  it('stops at the next checkpoint when its out folder was removed under it, writing nothing', async () => {
    const dir = path.join(await tempDir(), 'run');
    const trainer = new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 4),
      epochs: 2,
      checkpointEvery: { iterations: 2 },
      outDir: dir,
    });
    trainer.on('batch', async (b) => {
      if (b.iteration === 3) await fs.rm(dir, { recursive: true, force: true });
    });
    const error = await rejection(trainer.fit());
    expect(error.message).to.equal(
      `${dir} no longer holds this run's lock (train.lock): the folder was removed or replaced ` +
        'while the run trained, with its log; stopping at iteration 4 rather than write ' +
        'checkpoints into it',
    );
    expect(await fs.stat(dir).catch(() => 'gone')).to.equal('gone');
  });

  it("refuses to resume with data whose epochs are another length than the checkpoint's", async () => {
    const dir = await tempDir();
    await new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 2),
      iterations: 3,
      checkpointEvery: { iterations: 3 },
      outDir: dir,
    }).fit();
    const checkpoint = await latestCheckpoint(path.join(dir, 'checkpoints'));
    expect(checkpoint!.state.batchesPerEpoch).to.equal(2);
    let error: Error | undefined;
    await new Trainer({
      model: await loadFakeModel(checkpoint!.modelPath),
      data: new FakeBatchSource(3, 4), // a smaller batch size: twice the batches
      epochs: 3,
      outDir: dir,
      resume: checkpoint,
    })
      .fit()
      .catch((e: Error) => (error = e));
    expect(error?.message).to.equal(
      `checkpoint ${checkpoint!.dir} is of a run with 2 batches an epoch; the data gives 4. ` +
        "Resume with the run's batch size and data (its position in an epoch, and the epochs " +
        'left, mean nothing with others)',
    );
  });

  it('stops on a non-finite loss with a clear error and keeps the last good checkpoint', async () => {
    const dir = await tempDir();
    const model = new FakeModel(3);
    model.nanAtStep = 6;
    const trainer = new Trainer({
      model,
      data: new FakeBatchSource(3, 10),
      epochs: 1,
      outDir: dir,
      checkpointEvery: { iterations: 4 },
    });
    let error: unknown;
    await trainer.fit().catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(NonFiniteLossError);
    // Epoch and batch as the 'batch' record of that step would number them (10 batches an epoch).
    expect((error as Error).message).to.match(/loss became NaN at iteration 6 \(epoch 1, batch 5,/);
    expect((error as Error).message).to.contain('iter-00000004');
    expect(model.calls.length).to.equal(6);
    const root = path.join(dir, 'checkpoints');
    expect((await listCheckpoints(root)).map((d) => path.basename(d))).to.deep.equal([
      'iter-00000004',
    ]);
    const good = await loadFakeModel((await latestCheckpoint(root))!.modelPath);
    expect(good.steps).to.equal(4);
    const records = await readMetrics(path.join(dir, 'metrics.jsonl'));
    expect(records.at(-1)?.type).to.equal('error');
  });

  it('rejects bad options naming them', () => {
    const model = new FakeModel(3);
    const data = new FakeBatchSource(3, 2);
    const make = (extra: object) => () => new Trainer({ model, data, ...extra });
    expect(make({ epochs: 2, iterations: 5 })).to.throw(/epochs or iterations/);
    expect(make({ epochs: 0 })).to.throw(/epochs/);
    expect(make({ optimizer: { lr: -1 } })).to.throw(/optimizer.lr/);
    expect(make({ optimizer: { momentum: NaN } })).to.throw(/optimizer.momentum/);
    expect(make({ evalEvery: { iterations: 0 } })).to.throw(/evalEvery.iterations/);
    expect(make({ lambda: { base: -1 } })).to.throw(/lambda.base/);
    expect(() => new Trainer({ model, data: new FakeBatchSource(4, 2) })).to.throw(/4 classes/);
    expect(() => new Trainer({ model, data: new FakeBatchSource(3, 2, 4, 1, 8) })).to.throw(/8x8/);
  });

  it("keeps a failed evaluation's epoch: the checkpoint due with it is written", async () => {
    const outDir = await tempDir();
    const trainer = new Trainer({
      model: new FakeModel(3),
      data: new FakeBatchSource(3, 2),
      epochs: 2,
      evalEvery: 1,
      outDir,
      evaluator: {
        evaluate: async () => {
          throw new Error('evaluator failed');
        },
      },
    });
    expect((await rejection(trainer.fit())).message).to.equal('evaluator failed');
    const saved = await latestCheckpoint(path.join(outDir, 'checkpoints'));
    expect(saved?.state.iteration).to.equal(2);
    expect(saved?.state.epoch).to.equal(1);
  });

  it('fails the run when the evaluator returns no finite accuracy, naming what it returned', async () => {
    for (const [returned, shown] of [
      [{ accuracy: NaN }, 'NaN of type number'],
      [{ acc: 0.5 }, 'a value of type undefined'],
    ] as const) {
      const trainer = new Trainer({
        model: new FakeModel(3),
        data: new FakeBatchSource(3, 2),
        epochs: 1,
        evaluator: { evaluate: async () => returned as unknown as { accuracy: number } },
      });
      expect((await rejection(trainer.fit())).message).to.equal(
        `the evaluator returned ${shown} for accuracy at iteration 2; it must resolve to ` +
          '{ accuracy } with a finite number',
      );
    }
  });

  it('refuses in the constructor, naming the option, what would fail or be ignored later', () => {
    const model = new FakeModel(3);
    const data = new FakeBatchSource(3, 2);
    const make = (extra: object) => () =>
      new Trainer({ model, data, ...extra } as unknown as TrainerOptions);
    const cases: [object, ErrorConstructor, string][] = [
      [{ epochs: '2' }, TypeError, "Expected an integer >= 1 for epochs but received '2'"],
      [{ iterations: 1.5 }, RangeError, 'for iterations but received 1.5 of type number'],
      [
        { evaluator: {} },
        TypeError,
        'Expected an object with an evaluate(model) method for evaluator but received a value of type object',
      ],
      [{ evalEvery: 'x' }, TypeError, "for evalEvery but received 'x'"],
      [{ checkpointEvery: 'x' }, TypeError, "for checkpointEvery but received 'x'"],
      [{ checkpointEvery: null }, TypeError, "Option 'checkpointEvery' in options is null"],
      [{ evalEvery: { epochs: '1' } }, TypeError, "for evalEvery.epochs but received '1'"],
      [{ outDir: 5 }, TypeError, 'Expected a folder path for outDir but received 5 of type number'],
      [{ outDir: '' }, TypeError, "Expected a folder path for outDir but received ''"],
      [{ resume: 7 }, TypeError, 'for resume but received 7 of type number'],
      [
        { seed: -1 },
        RangeError,
        'Expected an integer >= 0 for seed but received -1 of type number',
      ],
      [{ keepCheckpoints: '3' }, TypeError, "for keepCheckpoints but received '3'"],
      [{ optimizer: { lr: '0.1' } }, TypeError, "for optimizer.lr but received '0.1'"],
      [{ optimizer: { nesterov: 1 } }, TypeError, 'a boolean for optimizer.nesterov'],
      [
        { optimizer: { momentum: 1 } },
        RangeError,
        'Expected a number in [0, 1) for optimizer.momentum but received 1',
      ],
      [
        { optimizer: { lr: 0.1 }, schedule: { kind: 'cosine', minLr: 1 } },
        RangeError,
        'Expected schedule.minLr <= optimizer.lr (0.1) but received 1: the cosine would rise',
      ],
      [{ lambda: 5 }, TypeError, 'Expected false or a lambda schedule object for lambda'],
      [
        { schedule: 'cosine' },
        TypeError,
        "Expected an options object for schedule but received 'cosine'",
      ],
      [
        { model: undefined },
        TypeError,
        'Expected a FaceModel for model but received a value of type undefined',
      ],
      [
        { data: {} },
        TypeError,
        'Expected a BatchSource for data but received a value of type object',
      ],
    ];
    for (const [extra, type, message] of cases) {
      expect(make(extra), JSON.stringify(extra)).to.throw(type, message);
    }
    expect(model.calls.length).to.equal(0);
    const bare = Trainer as unknown as new (options?: unknown) => Trainer;
    expect(() => new bare()).to.throw(
      TypeError,
      'Expected a TrainerOptions object ({ model, data, ... }) for options but received a value of type undefined',
    );
  });
});

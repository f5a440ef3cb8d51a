import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createModel } from '../../lib/models/model';
import type { Arch } from '../../lib/models/types';
import { latestCheckpoint, listCheckpoints } from '../../lib/train/checkpoint';
import { sphereMain, sphereface, tempDir, tinyFaces } from './cli-helpers';

interface TrainSummary {
  iterations: number;
  config: { arch: string; head: Record<string, unknown>; embeddingDim: number };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as TrainSummary;

// A resume trains the checkpoint's model: its arch, head and sizes unless a flag contradicts them.
describe('sphereface train --resume', function () {
  let out: string;
  let common: string[];

  before(async () => {
    const faces = await tinyFaces();
    out = await tempDir();
    common = [
      'train',
      '--data',
      faces.trainDir,
      '--lfw',
      faces.lfwDir,
      '--pairs',
      faces.pairsFile,
      '--batch-size',
      '8',
      '--lr',
      '0.01',
      '--out',
      out,
      '--json',
    ];
    const first = await sphereface([
      ...common,
      '--epochs',
      '1',
      '--arch',
      'sphere-cnn4',
      '--head',
      'cos',
      '--m',
      '0.2',
      '--scale',
      '16',
      '--embedding-dim',
      '64',
    ]);
    expect(first.code, first.stderr).to.equal(0);
    expect(lastJson(first.stdout).iterations).to.equal(3); // 24 images / 8
  });
  after(() => fs.rm(out, { recursive: true, force: true }));

  it("takes the checkpoint's arch, head and embedding size when no flag gives them", async () => {
    const resumed = await sphereface([...common, '--epochs', '2', '--resume']);
    expect(resumed.code, resumed.stderr).to.equal(0);
    const summary = lastJson(resumed.stdout);
    expect(summary.iterations).to.equal(6);
    expect(summary.config).to.deep.include({
      arch: 'sphere-cnn4',
      head: { kind: 'cos', m: 0.2, scale: 16 },
      embeddingDim: 64,
    });
    const written = JSON.parse(await fs.readFile(path.join(out, 'summary.json'), 'utf8')) as {
      config: TrainSummary['config'];
    };
    expect(written.config).to.deep.include({ arch: 'sphere-cnn4', embeddingDim: 64 });
    expect(written.config.head).to.deep.equal({ kind: 'cos', m: 0.2, scale: 16 });
    // The report and summary cover the whole run, not only the resumed part.
    const whole = written as unknown as {
      epochs: { epoch: number; iteration: number }[];
      evals: { iteration: number }[];
      resumedFrom: string;
      stopped: boolean;
    };
    expect(whole.epochs.map((e) => [e.epoch, e.iteration])).to.deep.equal([
      [1, 3],
      [2, 6],
    ]);
    expect(whole.evals.map((e) => e.iteration)).to.deep.equal([3, 6]);
    expect(whole.resumedFrom).to.equal(path.join(out, 'checkpoints', 'iter-00000003'));
    expect(whole.stopped).to.equal(false);
    const report = await fs.readFile(path.join(out, 'report.md'), 'utf8');
    expect(report).to.contain('| Epoch | Iteration | Loss | Train acc. | Test acc. |');
    expect(report).to.match(/^\| 1 \| 3 \| \d+\.\d{3} \| \d\.\d{4} \| \d\.\d{4} \|$/m);
    expect(report).to.match(/^\| 2 \| 6 \| \d+\.\d{3} \| \d\.\d{4} \| \d\.\d{4} \|$/m);
    // The same values given again are no contradiction.
    const same = await sphereface([
      ...common,
      '--epochs',
      '3',
      '--resume',
      '--arch',
      'sphere-cnn4',
      '--head',
      'cos',
      '--m',
      '0.2',
    ]);
    expect(same.code, same.stderr).to.equal(0);
    expect(lastJson(same.stdout).iterations).to.equal(9);
  });

  it("refuses a flag that contradicts the checkpoint's model, naming it and the model's value", async () => {
    const files = await snapshot(out);
    const cases: [string[], string][] = [
      [['--arch', 'sphere20'], '--arch sphere20 contradicts the model being resumed'],
      [['--head', 'arc'], 'which has head cos'],
      [['--m', '0.3'], '--m 0.3 contradicts the model being resumed'],
      [['--scale', '30'], 'which has scale 16'],
      [['--embedding-dim', '128'], 'which has embedding-dim 64'],
    ];
    for (const [flags, message] of cases) {
      const refused = await sphereMain([...common, '--epochs', '9', '--resume', ...flags]);
      expect(refused.code, flags.join(' ')).to.equal(2);
      expect(refused.stderr).to.contain(message);
      expect(refused.stderr).to.contain(path.join(out, 'checkpoints'));
    }
    expect(await snapshot(out)).to.deep.equal(files);
  });

  it('reads the embedding size from the model file of a checkpoint that does not record it', async () => {
    const checkpoints = path.join(out, 'checkpoints');
    const newest = (await fs.readdir(checkpoints)).sort().at(-1)!;
    const stateFile = path.join(checkpoints, newest, 'state.json');
    const text = await fs.readFile(stateFile, 'utf8');
    const state = JSON.parse(text) as Record<string, unknown>;
    delete state.embeddingDim;
    await fs.writeFile(stateFile, JSON.stringify(state));
    try {
      const refused = await sphereMain([
        ...common,
        '--epochs',
        '9',
        '--resume',
        '--embedding-dim',
        '128',
      ]);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.contain('which has embedding-dim 64');
    } finally {
      await fs.writeFile(stateFile, text);
    }
  });

  it('refuses a resume with nothing left to train, leaving the run as it was', async () => {
    const files = await snapshot(out);
    const summary = await fs.readFile(path.join(out, 'summary.json'), 'utf8');
    const { iterations: iteration } = JSON.parse(summary) as TrainSummary;
    for (const epochs of ['1', String(iteration / 3)]) {
      const refused = await sphereface([...common, '--epochs', epochs, '--resume']);
      expect(refused.code, refused.stderr).to.equal(2);
      const latest = (await latestCheckpoint(path.join(out, 'checkpoints')))!;
      expect(refused.stderr).to.contain(
        `nothing to train: the checkpoint is at iteration ${iteration} and the run ends at ` +
          `${Number(epochs) * 3}; give a longer --epochs or --iterations, or evaluate its model ` +
          `with sphereface eval --model ${latest.modelPath}`,
      );
    }
    expect(await snapshot(out)).to.deep.equal(files);
  });

  it('passes over a checkpoint that does not hold together, resuming from the one before', async () => {
    const copy = await tempDir();
    await fs.cp(out, copy, { recursive: true });
    const root = path.join(copy, 'checkpoints');
    const dirs = await listCheckpoints(root);
    expect(dirs.length, 'checkpoints to fall back on').to.be.at.least(2);
    const latest = (await latestCheckpoint(root))!;
    const previous = dirs.filter((d) => d !== latest.dir).at(-1)!;
    const { arch, classes, head, embeddingDim } = latest.state;
    const stranger = await createModel({ arch: arch as Arch, classes, head, embeddingDim });
    try {
      await stranger.save(latest.modelPath);
    } finally {
      stranger.dispose();
    }
    const args = common.map((arg) => (arg === out ? copy : arg));
    const resumed = await sphereface([...args, '--epochs', '9', '--resume']);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stderr).to.contain(
      `--resume passes over ${latest.dir}: it does not hold together: its model.sfm has ` +
        `taken 0 steps, its state.json records ${latest.state.modelSteps}`,
    );
    expect((lastJson(resumed.stdout) as { resumedFrom?: string }).resumedFrom).to.equal(previous);
    // With no checkpoint left that loads, the resume is refused, naming each, and nothing changes.
    for (const dir of await listCheckpoints(root)) {
      await fs.writeFile(path.join(dir, 'model.sfm'), 'not a model');
    }
    const files = await snapshot(copy);
    const refused = await sphereface([...args, '--epochs', '12', '--resume']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(
      new RegExp(
        `--resume: no checkpoint in ${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} that can be resumed \\(.*is not a sphereface model file`,
      ),
    );
    expect(await snapshot(copy)).to.deep.equal(files);
    await fs.rm(copy, { recursive: true, force: true });
  });

  it("says which of the loader's settings a resume changes", async () => {
    const summary = await fs.readFile(path.join(out, 'summary.json'), 'utf8');
    const { iterations } = JSON.parse(summary) as TrainSummary;
    const epochs = iterations / 3 + 1;
    const resumed = await sphereface([
      ...common.filter((flag) => flag !== '--json'),
      '--epochs',
      String(epochs),
      '--resume',
      '--no-flip',
      '--crop-padding',
      '2',
    ]);
    expect(resumed.code, resumed.stderr).to.equal(0);
    expect(resumed.stdout).to.contain(
      `settings changed since that checkpoint: totalIterations ${iterations} -> ${iterations + 3}; ` +
        'loader.randomCrop false -> {"height":96,"width":96,"padding":2}; loader.flip 0.5 -> 0\n',
    );
  });

  it('continues the run as it was started where no flag gives a setting', async () => {
    const root = path.join(out, 'checkpoints');
    const { state } = (await latestCheckpoint(root))!;
    expect(state.batchSize).to.equal(8);
    // The data and the folder alone: the run's batch size, lr, length, flip and crops stand.
    const bare = ['train', '--data', common[2], '--lfw', common[4], '--pairs', common[6]];
    const refused = await sphereface([...bare, '--out', out, '--resume']);
    expect(refused.code, refused.stderr).to.equal(2);
    expect(refused.stderr).to.contain(
      `nothing to train: the checkpoint is at iteration ${state.iteration} and the run ends at ` +
        `${state.totalIterations}`,
    );
    const longer = await sphereface([
      ...bare,
      '--out',
      out,
      '--resume',
      '--iterations',
      String(state.totalIterations + 3),
    ]);
    expect(longer.code, longer.stderr).to.equal(0);
    expect(longer.stdout).to.contain(
      `settings changed since that checkpoint: totalIterations ${state.totalIterations} -> ` +
        `${state.totalIterations + 3}\n`,
    );
  });
});

/** Every file under `dir` but the decoded-image cache, with its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (!entry.isFile() || path.relative(dir, file).startsWith('cache')) continue;
    files[path.relative(dir, file)] = (await fs.readFile(file)).toString('base64');
  }
  return files;
}

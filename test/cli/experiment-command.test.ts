import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { loadHeldOut, loadTrainSet } from '../../lib/cli/datasets';
import { LfwEvaluator } from '../../lib/eval/lfw-evaluator';
import { loadModel } from '../../lib/models/model';
import { latestCheckpoint } from '../../lib/train/checkpoint';
import {
  jsonLines,
  sphereMain,
  startSphereface,
  tempDir,
  TINY_DEMO_SET,
  until,
} from './cli-helpers';

// AFS as the paper defines it (S_w without the n_i weight), over unit-length features, in double
// precision: written out here from the definition, apart from the library's.
function paperAfs(features: Float64Array, labels: Int32Array, dim: number): number {
  const n = labels.length;
  const unit = Array.from({ length: n }, (_, i) => {
    const row = Array.from(features.subarray(i * dim, (i + 1) * dim));
    const norm = Math.hypot(...row);
    return row.map((v) => v / norm);
  });
  const mean = (rows: number[][]) =>
    rows.reduce((sum, row) => sum.map((v, k) => v + row[k] / rows.length), new Array(dim).fill(0));
  const cos = (a: number[], b: number[]) =>
    a.reduce((s, v, k) => s + v * b[k], 0) / (Math.hypot(...a) * Math.hypot(...b));
  const all = mean(unit);
  let within = 0;
  let between = 0;
  for (const label of new Set(labels)) {
    const members = unit.filter((_, i) => labels[i] === label);
    const centre = mean(members);
    for (const x of members) within += 1 - cos(x, centre);
    between += members.length * (1 - cos(centre, all));
  }
  return within / between;
}

// Degrees between two directions.
function angle(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = 0; k < a.length; k++) {
    ab += a[k] * b[k];
    aa += a[k] * a[k];
    bb += b[k] * b[k];
  }
  return (Math.acos(Math.max(-1, Math.min(1, ab / Math.sqrt(aa * bb)))) * 180) / Math.PI;
}

// The experiments end to end on tiny sets: what they write, and that every row saw the same
// data and seeds (the same raw-pixel baseline and the same held-out pairs for each).
describe('sphereface experiment', function () {
  it('reports bad usage with exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['experiment'], /name the experiment as the first argument: margin or toy/],
      [['experiment', 'angles'], /unknown experiment 'angles'; expected margin or toy/],
      [['experiment', 'margin', 'extra'], /unexpected argument 'extra'/],
      [['experiment', 'margin', '--dim', '3'], /--dim applies to the toy experiment/],
      [
        ['experiment', 'margin', '--only', 'softmax,sphere'],
        /--only expects ids among .* 'sphere'/,
      ],
      [['experiment', 'toy', '--dim', '4'], /--dim expects one of 2, 3 but received '4'/],
      [['experiment', 'toy', '--folds', '3'], /--folds applies to the margin experiment/],
      [['experiment', 'toy', '--epochs', '0'], /--epochs expects an integer >= 1/],
    ];
    for (const [args, message] of cases) {
      const r = await sphereMain(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
  });

  it('refuses a file as --cache or --out before drawing any image', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'a-file');
    await fs.writeFile(file, 'kept');
    for (const which of ['margin', 'toy']) {
      for (const flag of ['--cache', '--out']) {
        const other = flag === '--cache' ? ['--out', path.join(dir, 'out')] : [];
        const r = await sphereMain(['experiment', which, flag, file, ...other]);
        expect(r.code, `${which} ${flag}`).to.equal(2);
        expect(r.stderr).to.include(`${flag} ${file} is a file, not a folder`);
      }
    }
    expect(await fs.readdir(dir)).to.deep.equal(['a-file']);
    expect(await fs.readFile(file, 'utf8')).to.equal('kept');
  });

  it('margin trains each chosen loss with the same seeds and writes one table and one plot', async () => {
    const cache = await tempDir();
    const out = await tempDir();
    const r = await sphereMain([
      'experiment',
      'margin',
      '--only',
      'softmax,sphere-m4,arc',
      ...TINY_DEMO_SET,
      '--epochs',
      '1',
      '--batch-size',
      '4',
      '--cache',
      cache,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('| loss |'));
    expect(header, r.stdout).to.be.greaterThan(-1);
    const rows = lines.slice(header + 2, header + 6).map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((c) => c[1])).to.deep.equal([
      'raw-pixel cosine (no training)',
      'softmax',
      'A-Softmax m=4',
      'ArcFace m=0.5 s=64',
    ]);
    for (const cells of rows) {
      expect(cells[2], cells[1]).to.match(/^0\.\d{4} ± 0\.\d{4}$|^1\.0000 ± 0\.\d{4}$/);
      expect(cells[3], cells[1]).to.match(/^\d+\.\d{4}$/);
    }
    for (const cells of rows.slice(1)) expect(cells[4], cells[1]).to.match(/^\d+\.\d{3}$/);
    // The files: the same table, the rows with their settings, and a two-panel plot.
    const table = await fs.readFile(path.join(out, 'margin-ablation.md'), 'utf8');
    expect(table).to.contain(lines.slice(header, header + 6).join('\n'));
    expect(table).to.match(
      /sphere-cnn4, 1 epochs, seed 1; .+, \d+ threads, libtorch .+, \d{4}-\d\d-\d\d/,
    );
    const afsNote =
      "AFS = S_w / S_b on the held-out identities, the paper's S_w (no n_i weight), class means " +
      'of unit-length features.';
    expect(lines).to.include(afsNote);
    expect(table).to.contain(afsNote);
    const json = JSON.parse(await fs.readFile(path.join(out, 'margin-ablation.json'), 'utf8')) as {
      rows: { id: string; accuracy: number; std: number; afs: number; finalLoss?: number }[];
      settings: { seed: number };
    };
    expect(json.rows.map((row) => row.id)).to.deep.equal([
      'raw-pixels',
      'softmax',
      'sphere-m4',
      'arc',
    ]);
    expect(json.settings.seed).to.equal(1);
    const plot = await Jimp.read(path.join(out, 'margin-ablation.png'));
    expect([plot.bitmap.width, plot.bitmap.height]).to.deep.equal([1040, 400]);
    // Each row trained in its own folder with the same seed, optimiser and schedule; only the
    // head differs.
    const states = await Promise.all(
      ['softmax', 'sphere-m4', 'arc'].map(
        async (id) => (await latestCheckpoint(path.join(out, id, 'checkpoints')))!.state,
      ),
    );
    expect(states.map((s) => s.head)).to.deep.equal([
      { kind: 'softmax' },
      { kind: 'sphere', m: 4, lambda: 0 },
      { kind: 'arc', m: 0.5, scale: 64 },
    ]);
    // A row's figures are those of the model it saved: its held-out accuracy as the evaluator
    // finds it, and its AFS as the paper's formula gives it on that model's features.
    const setDir = path.join(cache, 'synth-4x3-4x3-2x4-seed1');
    const heldOut = await loadHeldOut(
      path.join(setDir, 'lfw'),
      path.join(setDir, 'pairs.txt'),
      'sphere-cnn4',
      { cacheDir: path.join(setDir, 'decoded') },
    );
    const evaluator = new LfwEvaluator(heldOut.images, heldOut.pairs);
    const saved = await latestCheckpoint(path.join(out, 'sphere-m4', 'checkpoints'));
    const model = await loadModel(saved!.modelPath);
    try {
      const row = json.rows.find((r) => r.id === 'sphere-m4')!;
      const evaluation = await evaluator.evaluate(model);
      expect([evaluation.accuracy, evaluation.std]).to.deep.equal([row.accuracy, row.std]);
      const { features, dim } = await evaluator.features(model);
      expect(row.afs).to.be.closeTo(paperAfs(features, heldOut.images.labels!, dim), 1e-9);
    } finally {
      model.dispose();
    }
    for (const state of states) {
      const { seed, optimizer, schedule, totalIterations } = state;
      const first = states[0];
      expect({ seed, optimizer, schedule, totalIterations }).to.deep.equal({
        seed: first.seed,
        optimizer: first.optimizer,
        schedule: first.schedule,
        totalIterations: first.totalIterations,
      });
    }
  });

  it('toy draws the features of every loss in a 3-D embedding', async () => {
    const cache = await tempDir();
    const out = await tempDir();
    const r = await sphereMain([
      'experiment',
      'toy',
      '--dim',
      '3',
      '--identities',
      '3',
      '--images',
      '4',
      '--epochs',
      '1',
      '--batch-size',
      '6',
      '--cache',
      cache,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    for (const loss of [
      'softmax',
      'A-Softmax m=1',
      'A-Softmax m=2',
      'A-Softmax m=3',
      'A-Softmax m=4',
    ]) {
      expect(r.stdout).to.match(
        new RegExp(`^${loss} +within \\d+\\.\\d° \\(max \\d+°\\), between >= \\d+\\.\\d°$`, 'm'),
      );
    }
    const json = JSON.parse(await fs.readFile(path.join(out, 'toy-3d.json'), 'utf8')) as {
      panels: {
        id: string;
        spread: { classes: number; meanWithin: number; maxWithin: number; minBetween: number };
      }[];
    };
    expect(json.panels.map((p) => p.id)).to.deep.equal([
      'softmax',
      'sphere-m1',
      'sphere-m2',
      'sphere-m3',
      'sphere-m4',
    ]);
    for (const panel of json.panels) expect(panel.spread.classes).to.equal(3);
    // The angles are those of the saved model's 3-D features of the training images: each
    // feature against the direction of its identity's unit features, and the identities' pairs.
    const train = await loadTrainSet(path.join(cache, 'toy-3x4-seed1', 'train'), 'sphere-cnn4', {
      cacheDir: path.join(cache, 'toy-3x4-seed1', 'decoded'),
    });
    const labels = train.images.labels;
    const saved = await latestCheckpoint(path.join(out, 'sphere-m4', 'checkpoints'));
    const model = await loadModel(saved!.modelPath);
    let features: Float32Array;
    try {
      const all = Array.from({ length: train.images.n }, (_, i) => i);
      features = await model.embed(await train.images.read(all), train.images.n);
    } finally {
      model.dispose();
      train.images.close();
    }
    const rows = Array.from({ length: train.images.n }, (_, i) => {
      const row = Array.from(features.subarray(i * 3, i * 3 + 3));
      const norm = Math.hypot(...row);
      return row.map((v) => v / norm);
    });
    const centres = [0, 1, 2].map((label) =>
      rows
        .filter((_, i) => labels[i] === label)
        .reduce((sum, row) => sum.map((v, k) => v + row[k]), [0, 0, 0]),
    );
    const within = rows.map((row, i) => angle(row, centres[labels[i]]));
    const between = [angle(centres[0], centres[1]), angle(centres[0], centres[2])];
    between.push(angle(centres[1], centres[2]));
    const spread = json.panels.find((p) => p.id === 'sphere-m4')!.spread;
    expect(spread.meanWithin).to.be.closeTo(within.reduce((a, b) => a + b) / within.length, 1e-6);
    expect(spread.maxWithin).to.be.closeTo(Math.max(...within), 1e-6);
    expect(spread.minBetween).to.be.closeTo(Math.min(...between), 1e-6);
    const plot = await Jimp.read(path.join(out, 'toy-3d.png'));
    expect([plot.bitmap.width, plot.bitmap.height]).to.deep.equal([5 * 300, 300 + 34 + 44]);
  });

  it('ends at a Ctrl-C during a row as interrupted, the rows trained so far kept', async () => {
    const cache = await tempDir();
    const out = path.join(await tempDir(), 'margin');
    const run = startSphereface([
      ...['experiment', 'margin', ...TINY_DEMO_SET, '--cache', cache, '--out', out],
      ...['--only', 'softmax,cos', '--batch-size', '4', '--epochs', '2000', '--json'],
    ]);
    // The first row is training once its log has a step.
    const log = path.join(out, 'softmax', 'metrics.jsonl');
    await until('a step', 120_000, async () => {
      if (run.child.exitCode !== null) throw new Error(`ended early: ${run.stderr()}`);
      return (await fs.readFile(log, 'utf8').catch(() => '')).includes('"type":"batch"');
    });
    run.child.kill('SIGINT');
    const { code } = await run.exit;
    expect(code, run.stderr()).to.equal(130);
    const lines = jsonLines(run.stderr());
    expect(lines.at(-1)?.kind).to.equal('interrupted');
    expect(lines.at(-1)?.error).to.match(
      new RegExp(
        '^sphereface experiment: stopped by SIGINT; stopped at iteration \\d+ of 6000; the rows ' +
          `trained so far are under ${out}; the table was not written$`,
      ),
    );
    expect(await latestCheckpoint(path.join(out, 'softmax', 'checkpoints'))).to.not.equal(
      undefined,
    );
  });
});

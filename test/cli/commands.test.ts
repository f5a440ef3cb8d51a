import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { sphereMain, sphereface, tempDir, tinyFaces } from './cli-helpers';

// One short training run feeds the eval, embed and verify tests.
describe('sphereface CLI', function () {
  let out: string;
  let modelFile: string;

  before(async () => {
    await tinyFaces();
  });

  it('prints --help for every command and exits 0', async () => {
    for (const name of ['train', 'prepare', 'eval', 'embed', 'verify', 'bench', 'demo']) {
      const r = await sphereMain([name, '--help']);
      expect(r.code, name).to.equal(0);
      expect(r.stdout, name).to.contain(`sphereface ${name}`);
      expect(r.stdout, name).to.contain('--json');
    }
  });

  it('reports bad arguments and missing files on stderr with exit 1 and no stack', async () => {
    const faces = await tinyFaces();
    const cases: [string[], RegExp][] = [
      [['train'], /--data is required/],
      [
        ['train', '--data', '/nonexistent/faces'],
        /training folder \/nonexistent\/faces does not exist/,
      ],
      [['train', '--data', faces.trainDir, '--epochs', 'two'], /--epochs expects an integer/],
      [['train', '--data', faces.trainDir, '--lfw', faces.lfwDir], /--lfw and --pairs go together/],
      [['train', '--data', faces.trainDir, '--frobnicate'], /Unknown option '--frobnicate'/],
      [
        ['eval', '--model', '/nonexistent.sfm', '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
        /model file \/nonexistent.sfm does not exist/,
      ],
      [
        ['eval', '--model', faces.pairsFile, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
        /.+/,
      ],
      [['embed', '--model', 'x.sfm'], /--out is required/],
      [['verify', '--model', 'x.sfm', 'a.jpg'], /expected two image files but received 1/],
      [['demo', '--identities', '1'], /--identities expects an integer >= 2/],
      [['prepare', '--data', faces.trainDir], /--out is required/],
      [
        ['prepare', '--data', '/nonexistent/faces', '--out', '/tmp/x'],
        /image source \/nonexistent\/faces does not exist/,
      ],
      [
        ['prepare', '--data', faces.trainDir, '--out', '/tmp/x', '--size', '12by3'],
        /--size expects HxW/,
      ],
      [['bench', '--threads', '0'], /.+/],
    ];
    for (const [args, message] of cases) {
      const r = await sphereMain(args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(message);
      expect(r.stderr, args.join(' ')).not.to.match(/^\s+at /m);
    }
    const verbose = await sphereMain(['train', '--data', '/nonexistent/faces', '--verbose']);
    expect(verbose.stderr).to.match(/^\s+at /m);
    // The binary itself: exit status 1 and the message alone on stderr.
    const binary = await sphereface(['verify', '--model', 'x.sfm', 'a.jpg']);
    expect(binary.code).to.equal(1);
    expect(binary.stderr.trim()).to.equal(
      'sphereface verify: expected two image files but received 1',
    );
  });

  it('train writes metrics, checkpoints and the report, and --resume continues', async () => {
    const faces = await tinyFaces();
    out = await tempDir();
    const common = [
      'train',
      '--data',
      faces.trainDir,
      '--lfw',
      faces.lfwDir,
      '--pairs',
      faces.pairsFile,
    ];
    const flags = [
      '--arch',
      'sphere-cnn4',
      '--batch-size',
      '8',
      '--lr',
      '0.01',
      '--schedule',
      'constant',
      '--out',
      out,
      '--json',
    ];
    const first = await sphereface([...common, '--epochs', '1', ...flags]);
    expect(first.code, first.stderr).to.equal(0);
    const summary = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as {
      iterations: number;
      accuracy: number;
      checkpoint: string;
    };
    expect(summary.iterations).to.equal(3); // 24 images / 8
    expect(summary.accuracy).to.be.within(0, 1);
    for (const file of ['metrics.jsonl', 'summary.json', 'report.md', 'plots/roc.png']) {
      await fs.access(path.join(out, file));
    }
    const second = await sphereface([...common, '--epochs', '2', '--resume', ...flags]);
    expect(second.code, second.stderr).to.equal(0);
    const resumed = JSON.parse(second.stdout.trim().split('\n').at(-1)!) as typeof summary;
    expect(resumed.iterations).to.equal(6);
    const epochs = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l.includes('"type":"epoch"'));
    expect(epochs.length).to.equal(2);
    modelFile = resumed.checkpoint;
  });

  it('prepare makes a store (--json) that train reads, centre-cropping 112x112 for sphere4', async () => {
    const faces = await tinyFaces();
    const dir = await tempDir();
    const store = path.join(dir, 'store');
    const args = [
      'prepare',
      '--data',
      faces.trainDir,
      '--out',
      store,
      '--size',
      '112x112',
      '--json',
    ];
    const first = await sphereface(args);
    expect(first.code, first.stderr).to.equal(0);
    const summary = JSON.parse(first.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).to.include({
      images: 24,
      classes: 6,
      height: 112,
      width: 112,
      shards: 1,
      skipped: 0,
      reused: false,
    });
    const again = await sphereface(args);
    const second = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(second).to.include({ images: 24, reused: true, builtShards: 0 });
    const run = await sphereface([
      'train',
      '--data',
      store,
      '--arch',
      'sphere4',
      '--iterations',
      '2',
      '--batch-size',
      '4',
      '--out',
      path.join(dir, 'run'),
      '--json',
    ]);
    expect(run.code, run.stderr).to.equal(0);
    const trained = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      iterations: number;
      data: { images: number; identities: number };
    };
    expect(trained.iterations).to.equal(2);
    expect(trained.data).to.include({ images: 24, identities: 6 });
  });

  it('eval, embed and verify use the trained model', async () => {
    const faces = await tinyFaces();
    const evaluated = await sphereface([
      'eval',
      '--model',
      modelFile,
      '--lfw',
      faces.lfwDir,
      '--pairs',
      faces.pairsFile,
      '--raw-pixels',
      '--json',
    ]);
    expect(evaluated.code, evaluated.stderr).to.equal(0);
    const figures = JSON.parse(evaluated.stdout) as {
      evaluation: { accuracy: number };
      baseline: { accuracy: number };
    };
    expect(figures.evaluation.accuracy).to.be.within(0, 1);
    expect(figures.baseline.accuracy).to.be.within(0, 1);

    const names = await fs.readdir(path.join(faces.trainDir, faces.trainNames[0]));
    const images = names.slice(0, 3).map((n) => path.join(faces.trainDir, faces.trainNames[0], n));
    const prefix = path.join(out, 'emb');
    const embedded = await sphereface([
      'embed',
      '--model',
      modelFile,
      '--out',
      prefix,
      '--json',
      ...images,
    ]);
    expect(embedded.code, embedded.stderr).to.equal(0);
    const npy = await fs.readFile(`${prefix}.npy`);
    expect(npy.subarray(1, 6).toString()).to.equal('NUMPY');
    expect(npy.toString('latin1', 10, 80)).to.contain("'shape': (3, 1024)");
    expect(npy.length).to.equal(128 + 3 * 1024 * 4);
    const index = JSON.parse(await fs.readFile(`${prefix}.json`, 'utf8')) as { paths: string[] };
    expect(index.paths).to.deep.equal(images);

    const same = await sphereface([
      'verify',
      '--model',
      modelFile,
      '--threshold',
      '0.5',
      '--json',
      images[0],
      images[0],
    ]);
    expect(same.code, same.stderr).to.equal(0);
    const verdict = JSON.parse(same.stdout) as { similarity: number; same: boolean };
    expect(verdict.similarity).to.be.closeTo(1, 1e-5); // an image against itself
    expect(verdict.same).to.equal(true);
    const missing = await sphereface([
      'verify',
      '--model',
      modelFile,
      images[0],
      '/nonexistent.jpg',
    ]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('/nonexistent.jpg does not exist');
  });

  it('demo runs end to end on a tiny set and writes its report', async () => {
    const cache = await tempDir();
    const demoOut = await tempDir();
    const r = await sphereface([
      'demo',
      '--identities',
      '4',
      '--images',
      '3',
      '--held-out-identities',
      '4',
      '--held-out-images',
      '3',
      '--folds',
      '2',
      '--pairs-per-fold',
      '4',
      '--epochs',
      '2',
      '--eval-every',
      '1',
      '--batch-size',
      '4',
      '--cache',
      cache,
      '--out',
      demoOut,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('| Epoch | Loss   | Test Acc. |');
    expect(r.stdout).to.match(/\| 01 {4}\| \d\.\d{3} {2}\| 0\.\d{4} {4}\|/);
    expect(r.stdout).to.match(/held-out accuracy .*: 0\.\d{4} ± 0\.\d{4}/);
    expect(r.stdout).to.match(/raw-pixel cosine on the same pairs: +0\.\d{4} ± 0\.\d{4}/);
    const summary = JSON.parse(await fs.readFile(path.join(demoOut, 'summary.json'), 'utf8')) as {
      accuracy: number;
      rawPixelAccuracy: number;
    };
    expect(summary.accuracy).to.be.within(0, 1);
    // A second run reuses the generated identities.
    const again = await sphereface([
      'demo',
      '--identities',
      '4',
      '--images',
      '3',
      '--held-out-identities',
      '4',
      '--held-out-images',
      '3',
      '--folds',
      '2',
      '--pairs-per-fold',
      '4',
      '--epochs',
      '1',
      '--batch-size',
      '4',
      '--cache',
      cache,
      '--out',
      demoOut,
    ]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.contain('reused');
  });
});

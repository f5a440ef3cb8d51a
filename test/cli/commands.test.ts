import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  savedModel,
  sphereMain,
  sphereface,
  startSphereface,
  tempDir,
  TINY_DEMO_SET,
  tinyFaces,
} from './cli-helpers';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// One short training run feeds the eval, embed and verify tests.
describe('sphereface CLI', function () {
  let out: string;
  let modelFile: string;

  before(async () => {
    await tinyFaces();
  });

  it('prints --help for every command, each option with a description, and exits 0', async () => {
    const { commands } = await import('../../lib/cli/commands');
    for (const command of commands) {
      const r = await sphereMain([command.name, '--help']);
      expect(r.code, command.name).to.equal(0);
      expect(r.stdout, command.name).to.contain(`sphereface ${command.name}`);
      for (const [name, info] of Object.entries(command.options)) {
        // The option's line, its description, and its default when it has one.
        const line = new RegExp(`--${name}\\b[^\\n]*(\\n +)?${escape(info.description)}`);
        expect(r.stdout, `${command.name} --${name}`).to.match(line);
        if (info.default !== undefined) {
          expect(r.stdout).to.contain(`${info.description} (default: ${info.default})`);
        }
      }
      expect(r.stdout, command.name).to.contain('--json');
    }
  });

  it('gives the help as one JSON line with --json, the same options and defaults', async () => {
    const { commands } = await import('../../lib/cli/commands');
    for (const command of commands) {
      const r = await sphereMain([command.name, '--help', '--json']);
      expect(r.code, command.name).to.equal(0);
      expect(r.stdout.trim().split('\n'), command.name).to.have.length(1);
      const help = JSON.parse(r.stdout) as {
        command: string;
        usage: string[];
        options: { name: string; description: string; default?: string | number }[];
      };
      expect(help.command).to.equal(command.name);
      expect(help.usage[0]).to.match(new RegExp(`^sphereface ${command.name}\\b`));
      const byName = new Map(help.options.map((o) => [o.name, o]));
      for (const [name, info] of Object.entries(command.options)) {
        expect(byName.get(name)?.description, `${command.name} --${name}`).to.equal(
          info.description,
        );
        expect(byName.get(name)?.default).to.equal(info.default);
      }
      expect(byName.has('json')).to.equal(true);
    }
    const top = await sphereMain(['--help', '--json']);
    const listed = (JSON.parse(top.stdout) as { commands: { name: string }[] }).commands;
    expect(listed.map((c) => c.name)).to.deep.equal(commands.map((c) => c.name));
    const helpTrain = await sphereMain(['help', 'train', '--json']);
    expect(helpTrain.stdout).to.equal((await sphereMain(['train', '--help', '--json'])).stdout);
  });

  it('reports bad usage with exit 2 and failures with exit 1, on stderr without a stack', async () => {
    const faces = await tinyFaces();
    const cases: [string[], number, RegExp][] = [
      [['train'], 2, /--data is required/],
      [
        ['train', '--data', '/nonexistent/faces'],
        1,
        /training folder \/nonexistent\/faces does not exist/,
      ],
      [['train', '--data', faces.trainDir, '--epochs', 'two'], 2, /--epochs expects an integer/],
      [
        ['train', '--data', faces.trainDir, '--lfw', faces.lfwDir],
        2,
        /--lfw and --pairs go together/,
      ],
      [['train', '--data', faces.trainDir, '--frobnicate'], 2, /Unknown option '--frobnicate'/],
      [['train', '--data', faces.trainDir, '--epoch', '2'], 2, /did you mean '--epochs'\?/],
      [['trian'], 2, /unknown command 'trian'; did you mean 'train'\?/],
      [
        ['eval', '--model', '/nonexistent.sfm', '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
        1,
        /model file \/nonexistent.sfm does not exist/,
      ],
      [
        ['eval', '--model', faces.pairsFile, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
        1,
        /.+/,
      ],
      [['embed', '--model', 'x.sfm'], 2, /--out is required/],
      [['verify', '--model', '', 'a.jpg', 'b.jpg'], 2, /^sphereface verify: --model is empty;/],
      [
        ['train', '--data', 'x', '--out='],
        2,
        /^sphereface train: --out is empty; it needs a value/,
      ],
      [
        ['train', '--epochs', '2', '--data', 'x', '--epochs=4', '--json', '--json'],
        2,
        /--epochs is given twice \(2, then 4\); give it once\./,
      ],
      [['verify', '--model', 'x.sfm', 'a.jpg'], 2, /expected two image files but received 1/],
      [
        ['verify', '--model', 'x.sfm', '--points', '1,2,3', 'a.jpg', 'b.jpg'],
        2,
        /--points expects 10 comma-separated numbers but received '1,2,3'/,
      ],
      [
        ['verify', '--model', 'x.sfm', '--box', '1,2,3,4', 'a.jpg', 'b.jpg'],
        2,
        /--box is needed once per image: 2 images, 1 given/,
      ],
      [
        [
          'verify',
          '--model',
          'x.sfm',
          'a.jpg',
          'b.jpg',
          '--points',
          '9,9,9,9,9,9,9,9,9,9',
          '1,2,3,4,5,6,7,8,9,10',
        ],
        2,
        /'1,2,3,4,5,6,7,8,9,10' is a list of numbers, not an image: .*\(--points A --points B\)$/,
      ],
      [
        ['embed', '--model', 'x.sfm', '--out', 'o', 'a.jpg', '--box', '1,2,3,4', '5,6,7,8'],
        2,
        /'5,6,7,8' is a list of numbers, not an image/,
      ],
      [
        ['verify', '--model', 'x.sfm', '--max-pixels', '0', 'a.jpg', 'b.jpg'],
        2,
        /--max-pixels expects an integer >= 1 but received '0'/,
      ],
      [['demo', '--identities', '1'], 2, /--identities expects an integer >= 2/],
      [['prepare', '--data', faces.trainDir], 2, /--out is required/],
      [
        ['prepare', '--data', '/nonexistent/faces', '--out', '/tmp/x'],
        1,
        /image source \/nonexistent\/faces does not exist/,
      ],
      [
        ['prepare', '--data', faces.trainDir, '--out', '/tmp/x', '--size', '12by3'],
        2,
        /--size expects HxW/,
      ],
      [
        ['prepare', '--data', faces.trainDir, '--out', '/tmp/x', '--size', '100000x100000'],
        2,
        /^sphereface prepare: --size 100000x100000 makes 100000x100000 = 10,000,000,000 pixels, over the limit of 50,000,000 per image$/,
      ],
      [
        ['prepare', '--data', faces.trainDir, '--out', '/tmp/x', '--threads', '99999'],
        2,
        /--threads expects an integer in 1\.\.1024 but received '99999'/,
      ],
      [
        ['verify', '--model', 'x.sfm', '--box', '0,0,0,0', '--box', '1,2,3,4', 'a.jpg', 'b.jpg'],
        2,
        /--box expects x,y,width,height with width and height > 0, got '0,0,0,0'/,
      ],
      [['bench', '--threads', '0'], 2, /.+/],
    ];
    for (const [args, code, message] of cases) {
      const r = await sphereMain(args);
      expect(r.code, args.join(' ')).to.equal(code);
      expect(r.stderr, args.join(' ')).to.match(message);
      expect(r.stderr, args.join(' ')).not.to.match(/^\s+at /m);
      expect(r.stdout, args.join(' ')).to.equal('');
      // Under --json: one JSON object on stderr, nothing on stdout.
      const json = await sphereMain([...args, '--json']);
      expect(json.code, args.join(' ')).to.equal(code);
      expect(json.stdout, args.join(' ')).to.equal('');
      const error = JSON.parse(json.stderr) as { error: string; kind: string };
      expect(error.error).to.match(message);
      expect(error.kind).to.equal(code === 2 ? 'usage' : 'failure');
    }
    const verbose = await sphereMain(['train', '--data', '/nonexistent/faces', '--verbose']);
    expect(verbose.stderr).to.match(/^\s+at /m);
    // The binary itself: exit status 2 and the message alone on stderr.
    const binary = await sphereface(['verify', '--model', 'x.sfm', 'a.jpg']);
    expect(binary.code).to.equal(2);
    expect(binary.stderr.trim()).to.equal(
      'sphereface verify: expected two image files but received 1',
    );
  });

  it('prints help with exit 0 when run bare, and its version', async () => {
    const bare = await sphereMain([]);
    expect(bare.code).to.equal(0);
    expect(bare.stdout).to.match(/^Usage: sphereface <command>/);
    const { version } = (await import('../../lib/version')) as { version: string };
    const v = await sphereface(['--version']);
    expect([v.code, v.stdout.trim()]).to.deep.equal([0, version]);
    for (const order of [
      ['--version', '--json'],
      ['--json', '--version'],
    ]) {
      const vJson = await sphereMain(order);
      expect([vJson.code, JSON.parse(vJson.stdout)]).to.deep.equal([0, { version }]);
    }
    const helpTrain = await sphereMain(['help', 'train']);
    expect(helpTrain.code).to.equal(0);
    expect(helpTrain.stdout).to.equal((await sphereMain(['train', '--help'])).stdout);
    const stray = await sphereMain(['info', 'extra']);
    expect([stray.code, stray.stderr.trim()]).to.deep.equal([
      2,
      "sphereface info: unexpected argument 'extra'",
    ]);
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
    // A new run into the same folder is refused: it would mix with this one's checkpoints.
    const before = await fs.readdir(path.join(out, 'checkpoints'));
    const again = await sphereface([...common, '--epochs', '1', ...flags]);
    expect(again.code).to.not.equal(0);
    expect(again.stderr).to.match(/already holds a training run .* --resume .* --force/);
    expect(await fs.readdir(path.join(out, 'checkpoints'))).to.deep.equal(before);
    // Another batch size is named as such, not as a run with nothing left to train (16 a batch
    // gives 2 batches an epoch: 2 epochs end at step 4, before the checkpoint's 6).
    const resized = [...flags];
    resized[resized.indexOf('--batch-size') + 1] = '16';
    const other = await sphereface([...common, '--epochs', '2', '--resume', ...resized]);
    expect([other.code, JSON.parse(other.stderr).error]).to.deep.equal([
      2,
      `sphereface train: checkpoint ${path.dirname(resumed.checkpoint)} is of a run with 3 ` +
        "batches an epoch; the data gives 2. Resume with the run's batch size and data (its " +
        'position in an epoch, and the epochs left, mean nothing with others)',
    ]);
  });

  it('train --resume refuses data whose identities were renumbered', async () => {
    const faces = await tinyFaces();
    const dir = await tempDir();
    const data = path.join(dir, 'train');
    await fs.cp(faces.trainDir, data, { recursive: true });
    const run = (epochs: string, ...more: string[]) =>
      sphereface([
        'train',
        ...['--data', data, '--arch', 'sphere-cnn4', '--batch-size', '8', '--epochs', epochs],
        ...['--out', path.join(dir, 'run'), '--json', ...more],
      ]);
    const first = await run('1');
    expect(first.code, first.stderr).to.equal(0);
    // The first identity's folder renamed to sort last: as many images, classes and batches.
    const [firstName] = (await fs.readdir(data)).sort();
    await fs.rename(path.join(data, firstName), path.join(data, 'zzz-renamed'));
    const second = await run('2', '--resume');
    expect(second.code).to.equal(2);
    expect(JSON.parse(second.stderr.trim().split('\n').at(-1)!).error).to.match(
      /is of a run on other data: its 24 images of \d+ classes were labelled otherwise than the 24 images/,
    );
  });

  it('train goes on to its checkpoints and report when its stdout reader goes away', async () => {
    const faces = await tinyFaces();
    const dir = await tempDir();
    const run = startSphereface([
      'train',
      ...['--data', faces.trainDir, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile],
      ...['--arch', 'sphere-cnn4', '--batch-size', '8', '--epochs', '2', '--out', dir],
    ]);
    run.child.stdout!.destroy(); // as `| head -0` does: every write to stdout meets EPIPE
    const { code } = await run.exit;
    expect(code, run.stderr()).to.equal(0);
    expect(run.stderr()).to.not.match(/EPIPE|Unhandled/);
    for (const file of ['summary.json', 'report.md', 'checkpoints']) {
      await fs.access(path.join(dir, file));
    }
    expect(await fs.readdir(dir)).to.not.include('train.lock');
  });

  it('prepare makes a store (--json) that train reads, centre-cropping 112x112 for sphere4, not for sphere-cnn4', async () => {
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
    // A shard size too large for the images is bad usage, refused with the store untouched.
    const storeFiles = await fs.readdir(store);
    const huge = await sphereMain([...args.slice(0, -1), '--images-per-shard', '1000000']);
    expect([huge.code, huge.stderr]).to.deep.equal([
      2,
      'sphereface prepare: --images-per-shard 1000000 of 112x112 images makes shards of 35.0 GiB, ' +
        'over the 2 GiB a shard may hold: give at most 57065',
    ]);
    expect(await fs.readdir(store)).to.deep.equal(storeFiles);
    // Without --size the first image gives the size (tinyFaces: 250x250): bad usage as well, and
    // the new store's folder keeps no store.
    const unsized = path.join(dir, 'unsized');
    const late = await sphereMain([
      ...['prepare', '--data', faces.trainDir, '--out', unsized],
      ...['--images-per-shard', '1000000'],
    ]);
    expect([late.code, late.stderr.split('\n').at(-1)]).to.deep.equal([
      2,
      'sphereface prepare: --images-per-shard 1000000 of 250x250 images makes shards of 174.6 GiB, ' +
        'over the 2 GiB a shard may hold: give at most 11453',
    ]);
    expect(await fs.readdir(unsized).catch(() => [])).to.not.include('manifest.json');
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
    // sphere-cnn4 takes 96x96 resized images (as eval and embed give them), not a crop of 112.
    const cnn4 = path.join(dir, 'run-cnn4');
    const cropped = await sphereface([
      'train',
      '--data',
      store,
      '--arch',
      'sphere-cnn4',
      '--iterations',
      '2',
      '--out',
      cnn4,
    ]);
    expect([cropped.code, cropped.stderr.trim().split('\n').at(-1)]).to.deep.equal([
      1,
      'sphereface train: the training images are 112x112; sphere-cnn4 takes images resized to ' +
        'cover 96x96 and centre-cropped, as eval, embed and verify give them, and a crop alone ' +
        'would train on another view: prepare the store with --size 96x96',
    ]);
    expect(await fs.stat(path.join(cnn4, 'checkpoints')).catch(() => 'none')).to.equal('none');

    // The store's images were decoded when it was prepared: decoding flags are refused.
    for (const flag of [['--landmarks', faces.trainLandmarksFile], ['--skip-bad-images']]) {
      const refused = await sphereface(['train', '--data', store, ...flag, '--out', dir]);
      expect(refused.code, flag[0]).to.equal(2);
      expect(refused.stderr).to.contain(
        `${flag[0]} applies to images being decoded, and ${store} is a prepared image store`,
      );
    }
    // An --out that is a file is named as such: a usage error, before any work.
    const file = path.join(dir, 'file');
    await fs.writeFile(file, 'x');
    const onFile = await sphereface(['prepare', '--data', faces.trainDir, '--out', file]);
    expect(onFile.code).to.equal(2);
    expect(onFile.stderr).to.contain(`--out ${file} is a file, not a folder`);
    expect(await fs.readFile(file, 'utf8')).to.equal('x');

    // A finished store of other inputs is kept, unless --replace.
    const resized = ['prepare', '--data', faces.trainDir, '--out', store, '--size', '96x96'];
    const kept = await sphereface(resized);
    expect(kept.code, kept.stderr).to.equal(1);
    expect(kept.stderr).to.contain(`${store} holds a complete image store of other inputs`);
    expect(await fs.readdir(store)).to.deep.equal(storeFiles);
    const replaced = await sphereface([...resized, '--replace', '--json']);
    expect(replaced.code, replaced.stderr).to.equal(0);
    const made = JSON.parse(replaced.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(made).to.include({ images: 24, height: 96, width: 96, reused: false });
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
      evaluation: { accuracy: number; pairs: number };
      baseline: { accuracy: number };
    };
    expect(figures.evaluation.accuracy).to.be.within(0, 1);
    expect(figures.baseline.accuracy).to.be.within(0, 1);
    const eval_ = ['eval', '--model', modelFile, '--lfw', faces.lfwDir, '--pairs', faces.pairsFile];
    const aligned = await sphereface([...eval_, '--landmarks', faces.pairsFile]);
    expect([aligned.code, aligned.stderr.trim()]).to.deep.equal([
      2,
      'sphereface eval: --landmarks: landmarks and boxes align faces for the 112x96 nets; this ' +
        'model takes 96x96 whole images (resized and centre-cropped), as it was trained',
    ]);

    // A gallery of the held-out people; a probe that is one of its images finds its person at 1.
    const galleryFile = path.join(out, 'people.sfg');
    const built = await sphereface([
      'gallery',
      'build',
      '--model',
      modelFile,
      '--root',
      faces.lfwDir,
      '--gallery',
      galleryFile,
      '--json',
    ]);
    expect(built.code, built.stderr).to.equal(0);
    expect(JSON.parse(built.stdout)).to.include({ people: 6, images: 18 });
    const person = faces.heldOutNames[2];
    const probe = path.join(faces.lfwDir, person, `${person}_0002.jpg`);
    const searched = await sphereface([
      'gallery',
      'search',
      '--model',
      modelFile,
      '--gallery',
      galleryFile,
      '--top',
      '3',
      '--json',
      probe,
    ]);
    expect(searched.code, searched.stderr).to.equal(0);
    const found = JSON.parse(searched.stdout) as {
      results: { matches: { name: string; score: number }[] }[];
    };
    expect(found.results[0].matches).to.have.length(3);
    expect(found.results[0].matches[0].name).to.equal(person);
    expect(found.results[0].matches[0].score).to.be.closeTo(1, 1e-5);
    // One action's flags given to the other are refused, not ignored.
    const misplaced: [string, string[]][] = [
      ['build', ['--top', '3']],
      ['build', ['--box', '1,1,5,5']],
      ['search', ['--root', faces.lfwDir]],
      ['search', ['--no-flip']],
    ];
    for (const [action, flag] of misplaced) {
      const r = await sphereface([
        'gallery',
        action,
        '--model',
        modelFile,
        '--gallery',
        galleryFile,
        ...flag,
        probe,
      ]);
      expect(r.code, flag[0]).to.equal(2);
      const only = action === 'build' ? 'search' : 'build';
      expect(r.stderr).to.contain(`${flag[0]} applies to gallery ${only}, not ${action}`);
    }

    // A held-out image that cannot be decoded: an error naming the flag, then skipped with it.
    const broken = path.join(out, 'lfw-broken');
    await fs.cp(faces.lfwDir, broken, { recursive: true });
    const victim = path.join(broken, faces.heldOutNames[0], `${faces.heldOutNames[0]}_0001.jpg`);
    await fs.writeFile(victim, 'not a jpeg');
    const evalBroken = ['eval', '--model', modelFile, '--lfw', broken, '--pairs', faces.pairsFile];
    const refused = await sphereface(evalBroken);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(victim);
    expect(refused.stderr).to.match(/pass --skip-bad-images to leave them out/);
    // prepare tells each image it skips as a note: under --json a JSON line on stderr, and in
    // the summary's skippedImages.
    const prepared = await sphereface([
      ...['prepare', '--data', broken, '--out', path.join(out, 'broken-store')],
      ...['--size', '8x8', '--skip-bad-images', '--json'],
    ]);
    expect(prepared.code, prepared.stderr).to.equal(0);
    const notes = prepared.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { note: string });
    expect(notes).to.have.length(1);
    expect(notes[0].note).to.match(new RegExp(`^skipped ${victim}: `));
    const preparedSummary = JSON.parse(prepared.stdout) as { skippedImages: { path: string }[] };
    expect(preparedSummary.skippedImages.map((i) => i.path)).to.deep.equal([victim]);
    const reportDir = path.join(out, 'eval-broken');
    const skipping = await sphereface([
      ...evalBroken,
      '--skip-bad-images',
      '--out',
      reportDir,
      '--json',
    ]);
    expect(skipping.code, skipping.stderr).to.equal(0);
    const partial = JSON.parse(skipping.stdout) as {
      evaluation: { pairs: number };
      heldOut: { pairs: number; skippedPairs: number; skippedImages: number };
    };
    const lost = (await fs.readFile(faces.pairsFile, 'utf8'))
      .split('\n')
      .slice(1)
      .filter((l) => {
        const f = l.split('\t');
        const uses = (name: string, i: string) => name === faces.heldOutNames[0] && i === '1';
        return f.length === 3
          ? uses(f[0], f[1]) || uses(f[0], f[2])
          : uses(f[0], f[1]) || uses(f[2], f[3]);
      }).length;
    expect(lost).to.be.greaterThan(0);
    expect(partial.evaluation.pairs).to.equal(figures.evaluation.pairs - lost);
    // The outputs say so too: summary.json as the JSON line, and a note in report.md.
    expect(partial.heldOut).to.deep.equal({
      pairs: figures.evaluation.pairs - lost,
      skippedPairs: lost,
      skippedImages: 1,
    });
    const written = JSON.parse(await fs.readFile(path.join(reportDir, 'summary.json'), 'utf8'));
    expect(written.heldOut).to.deep.equal(partial.heldOut);
    expect(await fs.readFile(path.join(reportDir, 'report.md'), 'utf8')).to.contain(
      `Note: skipped ${lost} pairs with a missing or undecodable image.`,
    );

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
    expect(embedded.stderr).to.match(
      /no landmarks or box given: the images are used as pre-aligned/,
    );
    // Boxes align faces for the 112x96 nets; this sphere-cnn4 takes whole images.
    const boxed = await sphereface([
      'verify',
      '--model',
      modelFile,
      '--box',
      '10,10,100,120',
      '--box',
      '5,5,90,100',
      images[0],
      images[1],
    ]);
    // A usage error (exit 2), as eval's --landmarks is, in every command that aligns faces.
    expect(boxed.code).to.equal(2);
    expect(boxed.stderr).to.match(
      /^sphereface verify: --box: landmarks and boxes align faces for the 112x96 nets/,
    );
    const embedBoxed = await sphereface([
      ...['embed', '--model', modelFile, '--out', path.join(out, 'boxed'), '--box', '1,1,9,9'],
      images[0],
    ]);
    expect(embedBoxed.code).to.equal(2);
    expect(embedBoxed.stderr).to.match(/^sphereface embed: --box: landmarks and boxes align/);
    // A landmark file must list every image (its paths relative to its folder): one it does not
    // is an error before anything is embedded, not a face silently taken as pre-aligned.
    const landmarks = path.join(out, 'five-points.txt');
    const points = '30 40 66 40 48 60 34 80 62 80';
    await fs.writeFile(landmarks, `${path.relative(out, images[0])}\t${points}\n`);
    const unlisted = await sphereface([
      'verify',
      '--model',
      modelFile,
      '--landmarks',
      landmarks,
      images[0],
      images[1],
    ]);
    expect(unlisted.code).to.equal(1);
    expect(unlisted.stderr).to.contain(
      `${landmarks}: no landmarks for ${images[1]} (looked up relative to the file's folder`,
    );
    const npy = await fs.readFile(`${prefix}.npy`);
    expect(npy.subarray(1, 6).toString()).to.equal('NUMPY');
    expect(npy.toString('latin1', 10, 80)).to.contain("'shape': (3, 1024)");
    expect(npy.length).to.equal(128 + 3 * 1024 * 4);
    const index = JSON.parse(await fs.readFile(`${prefix}.json`, 'utf8')) as {
      paths: string[];
      npy: { file: string; crc32: number };
    };
    expect(index.paths).to.deep.equal(images);
    // The index names the matrix it belongs to, by name and checksum.
    expect(index.npy).to.deep.equal({
      file: path.basename(`${prefix}.npy`),
      crc32: zlib.crc32(npy),
    });

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
    const limited = await sphereMain([
      'verify',
      '--model',
      modelFile,
      '--max-pixels',
      '62499',
      images[0],
      images[1],
    ]);
    expect(limited.code).to.equal(1);
    expect(limited.stderr).to.contain(
      `${images[0]}: 250x250 = 62500 pixels, over the limit of 62499 pixels (and 1 more bad ` +
        'images); raise --max-pixels to accept larger images',
    );
    expect(limited.stderr).to.not.match(/maxPixels|onBadImage|skip/);
    // verify takes no --skip-bad-images: an undecodable image is named, with no hint of one.
    const notJpeg = path.join(out, 'broken.jpg');
    await fs.writeFile(notJpeg, 'not a jpeg');
    const undecodable = await sphereMain(['verify', '--model', modelFile, images[0], notJpeg]);
    expect(undecodable.code).to.equal(1);
    expect(undecodable.stderr.split('\n').at(-1)).to.equal(
      `sphereface verify: cannot decode ${path.resolve(notJpeg)}: not a JPEG, PNG, WebP, GIF or ` +
        'BMP image (starts with 6e 6f 74 20)',
    );
  });

  it('gallery build aligns its images with --landmarks, and says when it did not', async () => {
    const faces = await tinyFaces();
    const dir = await tempDir();
    const model = path.join(dir, 'sphere4.sfm');
    await savedModel(model, 'sphere4');
    const build = (gallery: string, ...more: string[]) =>
      sphereface([
        'gallery',
        'build',
        '--model',
        model,
        '--root',
        faces.lfwDir,
        '--gallery',
        gallery,
        ...more,
      ]);
    const aligned = await build(
      path.join(dir, 'aligned.sfg'),
      '--landmarks',
      faces.lfwLandmarksFile,
    );
    expect(aligned.code, aligned.stderr).to.equal(0);
    expect(aligned.stderr).to.not.contain('pre-aligned');
    const loose = await build(path.join(dir, 'loose.sfg'));
    expect(loose.code, loose.stderr).to.equal(0);
    expect(loose.stderr).to.contain(
      'no landmarks or box given: the images are used as pre-aligned',
    );
    const [a, b] = await Promise.all(
      ['aligned.sfg', 'loose.sfg'].map((f) => fs.readFile(path.join(dir, f))),
    );
    expect(a.equals(b)).to.equal(false);
    // A probe aligned the same way finds its own gallery image.
    const person = faces.heldOutNames[1];
    const probe = path.join(faces.lfwDir, person, `${person}_0003.jpg`);
    const searched = await sphereface([
      ...['gallery', 'search', '--model', model, '--gallery', path.join(dir, 'aligned.sfg')],
      ...['--landmarks', faces.lfwLandmarksFile, '--json', probe],
    ]);
    expect(searched.code, searched.stderr).to.equal(0);
    const [match] = (
      JSON.parse(searched.stdout) as { results: { matches: { name: string; score: number }[] }[] }
    ).results[0].matches;
    expect(match.name).to.equal(person);
    expect(match.score).to.be.closeTo(1, 1e-5);
  });

  it('demo runs end to end on a tiny set and writes its report', async () => {
    const cache = await tempDir();
    const demoOut = await tempDir();
    const r = await sphereface([
      'demo',
      ...TINY_DEMO_SET,
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
    expect(r.stdout).to.match(/held-out accuracy \(2-fold LFW protocol\)/);
    // Redirected: progress goes to stderr as plain lines (each phase's last one), never to stdout.
    expect(r.stdout).to.not.match(/img\/s|\r/);
    expect(r.stderr).to.match(/^generating synthetic faces \[#{20}\] 24\/24 /m);
    expect(r.stderr).to.match(/^decoding training images \[#{20}\] 12\/12 /m);
    const summary = JSON.parse(await fs.readFile(path.join(demoOut, 'summary.json'), 'utf8')) as {
      accuracy: number;
      rawPixelAccuracy: number;
    };
    expect(summary.accuracy).to.be.within(0, 1);
    // A second run reuses the generated identities.
    const again = await sphereface([
      'demo',
      ...TINY_DEMO_SET,
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

  it('demo --seeds runs each population into its own folder and tabulates them', async () => {
    const cache = await tempDir();
    const demoOut = await tempDir();
    const training = ['--epochs', '1', '--batch-size', '4', '--cache', cache, '--out', demoOut];
    const r = await sphereface(['demo', ...TINY_DEMO_SET, ...training, '--seeds', '3,5', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout.trim()) as {
      seeds: { seed: number; accuracy: number; rawPixelAccuracy: number }[];
      meanAccuracy: number;
      stdAccuracy: number;
      minAccuracy: number;
    };
    expect(result.seeds.map((row) => row.seed)).to.deep.equal([3, 5]);
    // Each row is the run's own summary; the mean and spread follow from them.
    const accuracies: number[] = [];
    for (const seed of [3, 5]) {
      const summary = JSON.parse(
        await fs.readFile(path.join(demoOut, `seed-${seed}`, 'summary.json'), 'utf8'),
      ) as { accuracy: number; synth: { seed: number } };
      expect(summary.synth.seed).to.equal(seed);
      accuracies.push(summary.accuracy);
    }
    expect(result.seeds.map((row) => row.accuracy)).to.deep.equal(accuracies);
    const [a, b] = accuracies;
    expect(result.meanAccuracy).to.be.closeTo((a + b) / 2, 1e-12);
    expect(result.stdAccuracy).to.be.closeTo(Math.abs(a - b) / Math.SQRT2, 1e-12);
    expect(result.minAccuracy).to.equal(Math.min(a, b));

    // Every seed's folder is checked before the first trains: seed 7 has nothing to resume.
    const checkpoints = path.join(demoOut, 'seed-3', 'checkpoints');
    const kept = await fs.readdir(checkpoints);
    const resumed = await sphereface([
      'demo',
      ...TINY_DEMO_SET,
      ...training.slice(2),
      '--epochs',
      '2',
      '--resume',
      '--seeds',
      '3,7',
    ]);
    expect(resumed.code).to.equal(1);
    expect(resumed.stderr).to.contain(
      `--resume: no checkpoint in ${path.join(demoOut, 'seed-7', 'checkpoints')}`,
    );
    expect(resumed.stdout).to.not.contain('synthetic population');
    expect(await fs.readdir(checkpoints), 'seed 3 not trained on').to.deep.equal(kept);

    const both = await sphereface(['demo', ...TINY_DEMO_SET, '--seeds', '1', '--synth-seed', '2']);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.contain('give --seeds or --synth-seed, not both');
    const twice = await sphereface(['demo', ...TINY_DEMO_SET, '--seeds', '1,1']);
    expect(twice.code).to.equal(2);
    expect(twice.stderr).to.contain('--seeds lists a seed twice');
  });
});

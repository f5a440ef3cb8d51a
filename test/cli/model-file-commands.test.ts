import { expect } from 'chai';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createModel, loadModel } from '../../lib';
import { readStateDictFile } from '../../lib/data/formats/torch-file';
import { sphereMain, tempDir, tinyFaces, savedModel } from './cli-helpers';

// eval --save-threshold, verify's choice of threshold, export and import, on a fresh sphere-cnn4.
describe('sphereface eval --save-threshold, verify, export and import', function () {
  let out: string;
  let modelFile: string;
  let images: string[];

  before(async () => {
    const faces = await tinyFaces();
    out = await tempDir();
    modelFile = path.join(out, 'model.sfm');
    await savedModel(modelFile);
    const person = faces.heldOutNames[0];
    images = [1, 2].map((i) => path.join(faces.lfwDir, person, `${person}_000${i}.jpg`));
  });
  after(() => fs.rm(out, { recursive: true, force: true }));

  async function evalArgs(...extra: string[]): Promise<string[]> {
    const faces = await tinyFaces();
    return [
      'eval',
      '--model',
      modelFile,
      '--lfw',
      faces.lfwDir,
      '--pairs',
      faces.pairsFile,
      ...extra,
    ];
  }

  it('eval --save-threshold stores the threshold and protocol; verify uses it and says so', async () => {
    const refused = await sphereMain(await evalArgs('--save-threshold', '--subtract-mean'));
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain('--save-threshold stores a threshold for verify');

    const evaluated = await sphereMain(await evalArgs('--save-threshold', '--json'));
    expect(evaluated.code, evaluated.stderr).to.equal(0);
    const summary = JSON.parse(evaluated.stdout) as {
      evaluation: { threshold: number; protocol: { description: string } };
      thresholdSavedIn: string;
    };
    expect(summary.thresholdSavedIn).to.equal(modelFile);
    const model = await loadModel(modelFile);
    const { threshold, thresholdProtocol } = model;
    model.dispose();
    expect(threshold).to.equal(summary.evaluation.threshold);
    expect(thresholdProtocol).to.contain(summary.evaluation.protocol.description);
    expect(thresholdProtocol).to.contain((await tinyFaces()).pairsFile);

    const stored = await sphereMain(['verify', '--model', modelFile, '--json', ...images]);
    expect(stored.code, stored.stderr).to.equal(0);
    const verdict = JSON.parse(stored.stdout) as Record<string, unknown>;
    expect(verdict).to.include({
      threshold,
      thresholdSource: 'stored',
      protocol: thresholdProtocol,
    });
    expect(verdict.same).to.equal((verdict.similarity as number) > threshold!);
    const text = await sphereMain(['verify', '--model', modelFile, ...images]);
    // Printed to 4 places, as eval prints it; the JSON above keeps every digit.
    expect(text.stdout).to.contain(`(threshold ${threshold!.toFixed(4)}, stored in the model)`);
    expect(text.stdout).to.contain(`the stored threshold was found by: ${thresholdProtocol}`);

    // --threshold wins over the stored one, and says it was given.
    const given = await sphereMain([
      'verify',
      '--model',
      modelFile,
      '--threshold=-1', // a value starting with '-' goes after '='
      '--json',
      ...images,
    ]);
    expect(JSON.parse(given.stdout)).to.include({
      threshold: -1,
      thresholdSource: 'given',
      same: true,
    });
    const summaryFile = path.join(out, 'summary.json');
    const protocol = { flip: 'concat', subtractMean: false };
    await fs.writeFile(summaryFile, JSON.stringify({ evaluation: { threshold: 1, protocol } }));
    const fromSummary = await sphereMain([
      'verify',
      '--model',
      modelFile,
      '--summary',
      summaryFile,
      ...images,
    ]);
    expect(fromSummary.stdout).to.contain(
      `different people (threshold 1.0000, from ${summaryFile})`,
    );
  });

  it('verify --summary refuses a threshold found under another protocol, for raw pixels or another arch', async () => {
    const verify = (summary: string) =>
      sphereMain(['verify', '--model', modelFile, '--summary', summary, ...images]);
    const other = path.join(out, 'eval-sum-mean');
    const evaluated = await sphereMain(
      await evalArgs('--flip', 'sum', '--subtract-mean', '--out', other),
    );
    expect(evaluated.code, evaluated.stderr).to.equal(0);
    const refused = await verify(path.join(other, 'summary.json'));
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain(
      `${path.join(other, 'summary.json')} has a threshold found with --flip sum and --subtract-mean`,
    );

    const plain = path.join(out, 'eval-plain');
    expect((await sphereMain(await evalArgs('--out', plain))).code).to.equal(0);
    const summaryFile = path.join(plain, 'summary.json');
    const accepted = await verify(summaryFile);
    expect(accepted.code, accepted.stderr).to.equal(0);
    expect(accepted.stdout).to.contain(`from ${summaryFile})`);

    // The same summary, as if of raw pixels (eval --bin --raw-pixels) or of another net.
    const summary = JSON.parse(await fs.readFile(summaryFile, 'utf8')) as Record<string, unknown>;
    // Or with its protocol taken out: nothing then says how the threshold was found.
    const bare = path.join(out, 'bare-summary.json');
    const evaluation = { ...(summary.evaluation as Record<string, unknown>) };
    delete evaluation.protocol;
    await fs.writeFile(bare, JSON.stringify({ ...summary, evaluation }));
    const bareRefused = await verify(bare);
    expect([bareRefused.code, bareRefused.stderr]).to.deep.equal([
      1,
      `sphereface verify: ${bare} has no evaluation.protocol: nothing says its threshold was ` +
        'found as verify compares (--flip concat, no mean subtracted)',
    ]);
    const raw = path.join(out, 'raw-summary.json');
    await fs.writeFile(raw, JSON.stringify({ ...summary, evaluated: 'raw-pixels' }));
    const rawRefused = await verify(raw);
    expect(rawRefused.code).to.equal(1);
    expect(rawRefused.stderr).to.contain(`${raw} is an evaluation of raw pixels, not a model`);
    const sphere20 = path.join(out, 'sphere20-summary.json');
    await fs.writeFile(sphere20, JSON.stringify({ ...summary, arch: 'sphere20' }));
    const archRefused = await verify(sphere20);
    expect(archRefused.code).to.equal(1);
    expect(archRefused.stderr).to.contain(
      `${sphere20} is an evaluation of a sphere20 model, but --model ${modelFile} is sphere-cnn4`,
    );
  });

  it('export writes a state_dict of the model, import makes a model file from one', async () => {
    const netFile = path.join(out, 'net.pt');
    const exported = await sphereMain(['export', '--model', modelFile, '--out', netFile]);
    expect(exported.code, exported.stderr).to.equal(0);
    expect(exported.stdout).to.equal(`wrote ${netFile}: sphere-cnn4 with a 6-class head`);
    expect(exported.stderr).to.equal(''); // the default preprocessing: nothing to carry over
    const tensors = await readStateDictFile(netFile);
    expect(tensors.map((t) => t.name)).to.deep.equal([
      ...[1, 2, 3, 4].flatMap((i) => [`conv${i}.weight`, `conv${i}.bias`]),
      'fc.weight',
      'fc.bias',
      'head.weight',
    ]);

    const imported = path.join(out, 'imported.sfm');
    const args = ['import', '--state-dict', netFile, '--arch', 'sphere-cnn4', '--out', imported];
    const made = await sphereMain([...args, '--weights-only']);
    expect(made.code, made.stderr).to.equal(0);
    const [a, b] = await Promise.all([loadModel(modelFile), loadModel(imported)]);
    try {
      const pixels = new Uint8Array(2 * 96 * 96 * 3).map((_, i) => (i * 31) % 256);
      expect(await b.embed(pixels, 2)).to.deep.equal(await a.embed(pixels, 2));
      expect(b.classes).to.equal(6);
    } finally {
      a.dispose();
      b.dispose();
    }
    // The margin is not in a state_dict: --head gives it.
    const cos = await sphereMain([...args, '--head', 'cos', '--m', '0.3', '--json']);
    expect(cos.code, cos.stderr).to.equal(0);
    const cosModel = await loadModel(imported);
    try {
      expect(cosModel.head).to.deep.equal({ kind: 'cos', m: 0.3, scale: 64 });
    } finally {
      cosModel.dispose();
    }
    const badHead = await sphereMain([...args, '--head', 'sphere', '--m', '7']);
    expect(badHead.code).to.equal(2);
    expect(badHead.stderr).to.contain('--m for the sphere head expects an integer in 1..6');

    const wrong = await sphereMain([...args.slice(0, 4), 'sphere4', '--out', imported]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.contain(
      `${netFile}: key 'conv1.weight' has shape [32, 3, 3, 3] but a sphere4 (sphereface's layout) expects [64, 3, 3, 3]`,
    );
  });

  it("export says the .pt leaves out a model's own mean and std; import --mean --std restores them", async () => {
    const ownFile = path.join(out, 'own-preprocessing.sfm');
    const own = await createModel({
      arch: 'sphere-cnn4',
      classes: 3,
      head: { kind: 'sphere', m: 4 },
      device: 'cpu',
      mean: 0,
      std: 255,
      seed: 4,
    });
    try {
      await own.save(ownFile);
    } finally {
      own.dispose();
    }
    const netFile = path.join(out, 'own.pt');
    const exported = await sphereMain(['export', '--model', ownFile, '--out', netFile]);
    expect(exported.code, exported.stderr).to.equal(0);
    expect(exported.stderr).to.equal(
      `${netFile} holds the weights but not the model's preprocessing (x - 0) / 255: import it ` +
        'with --mean 0 --std 255, and in PyTorch use preprocess(images, mean=0, std=255)',
    );

    const imported = path.join(out, 'own-back.sfm');
    const args = ['import', '--state-dict', netFile, '--arch', 'sphere-cnn4', '--out', imported];
    const made = await sphereMain([...args, '--mean', '0', '--std', '255', '--json']);
    expect(made.code, made.stderr).to.equal(0);
    expect(JSON.parse(made.stdout)).to.include({ mean: 0, std: 255 });
    const [a, b] = await Promise.all([loadModel(ownFile), loadModel(imported)]);
    try {
      expect([b.mean, b.std]).to.deep.equal([0, 255]);
      const pixels = new Uint8Array(2 * 96 * 96 * 3).map((_, i) => (i * 37) % 256);
      expect(await b.embed(pixels, 2)).to.deep.equal(await a.embed(pixels, 2));
    } finally {
      a.dispose();
      b.dispose();
    }
    for (const [flags, why] of [
      [['--std', '0'], '--std expects a positive number but received 0'],
      [['--mean', 'abc'], "--mean expects a number but received 'abc'"],
    ] as const) {
      const refused = await sphereMain([...args, ...flags]);
      expect(refused.code).to.equal(2);
      expect(refused.stderr).to.contain(why);
    }
  });
});

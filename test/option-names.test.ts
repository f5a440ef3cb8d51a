// Every options object of the public API refuses a name it does not know, before any work: a
// misspelt option would otherwise be ignored and its default used without a word.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  angularFisherScore,
  createModel,
  DataLoader,
  decodeImage,
  DecodePool,
  DEFAULT_LAMBDA,
  FaceAlign,
  FileListDataset,
  Gallery,
  ImageFolderDataset,
  inputSizeOf,
  generateSyntheticFaces,
  importStateDict,
  lambdaAt,
  learningRate,
  LfwDataset,
  LfwEvaluator,
  loadImages,
  loadModel,
  loadVerificationBin,
  makeVerificationPairs,
  marginSoftmaxLoss,
  openImageStore,
  prepareImageStore,
  ProcessGroup,
  RandomCrop,
  recordIOSource,
  resolveDistributedOptions,
  Trainer,
  writeReport,
  type BatchSource,
  type Model,
} from '../lib';
import { thrown } from './rejection';
import { expectOptions } from '../lib/util/option-keys';

type Loose = (...args: unknown[]) => unknown;
type LooseClass = new (...args: unknown[]) => unknown;

describe('expectOptions', () => {
  const known = { batchSize: true, shuffle: true, seed: true, weightDecay: true } as const;

  it('returns an options object whose names are all known, and one with none', () => {
    const given = { batchSize: 2, seed: 1 };
    expect(expectOptions(given, 'options', known)).to.equal(given);
    expect(expectOptions({}, 'options', known)).to.deep.equal({});
  });

  it('names the unknown key, the near one, and the keys there are', () => {
    const error = (value: object) => {
      try {
        expectOptions(value, 'options', known);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('expected a throw');
    };
    const list = 'the options are batchSize, shuffle, seed, weightDecay';
    expect(error({ batchsize: 2 })).to.equal(
      `Unknown option 'batchsize' in options (did you mean 'batchSize'?); ${list}`,
    );
    expect(error({ suffle: true })).to.include("(did you mean 'shuffle'?)");
    expect(error({ weight_decay: 0 })).to.include("(did you mean 'weightDecay'?)");
    expect(error({ Seed: 1 })).to.include("(did you mean 'seed'?)");
    expect(error({ batch: 2 })).to.include("(did you mean 'batchSize'?)");
    // Nothing near: no guess.
    expect(error({ batchSize: 2, colour: 'red' })).to.equal(
      `Unknown option 'colour' in options; ${list}`,
    );
  });

  it('refuses a non-object as before, naming what it should be', () => {
    expect(() => expectOptions(3, 'options', known)).to.throw(
      TypeError,
      'Expected an options object for options but received 3 of type number',
    );
    expect(() => expectOptions(null, 'optimizer', known, 'an optimizer')).to.throw(
      'Expected an optimizer for optimizer but received null',
    );
  });

  it('refuses a known key set to null, which would otherwise read as "the default"', () => {
    expect(() => expectOptions({ seed: null }, 'options', known)).to.throw(
      TypeError,
      "Option 'seed' in options is null; no option takes null (leave an optional one out for its default)",
    );
  });

  it('accepts keys that are known but set to undefined, and ignores inherited ones', () => {
    expect(() => expectOptions({ seed: undefined }, 'options', known)).not.to.throw();
    expect(() => expectOptions(Object.create({ colour: 1 }), 'options', known)).not.to.throw();
  });
});

describe('option names of the public API', function () {
  this.timeout(60000);
  let model: Model;
  let dir: string;
  const sphere = { kind: 'sphere', m: 4 } as const;
  const data: BatchSource = {
    classes: 4,
    batchesPerEpoch: 1,
    ...inputSizeOf('sphere-cnn4'),
    async *batches() {},
  };

  before(async () => {
    model = await createModel({ arch: 'sphere-cnn4', classes: 4, head: sphere, device: 'cpu' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-option-names-'));
  });
  after(() => {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const image = new Uint8Array(112 * 96 * 3);
  const cases: [string, () => unknown, string][] = [
    [
      'createModel',
      () =>
        (createModel as Loose)({ arch: 'sphere-cnn4', classes: 4, head: sphere, embedingDim: 8 }),
      "Unknown option 'embedingDim' in options (did you mean 'embeddingDim'?)",
    ],
    [
      'loadModel',
      () => (loadModel as Loose)('model.sfm', { devise: 'cpu' }),
      "'devise' in options (did you mean 'device'?)",
    ],
    [
      'importStateDict',
      () => (importStateDict as Loose)('x.pt', { arch: 'sphere20', clases: 3 }),
      "'clases' in options (did you mean 'classes'?)",
    ],
    [
      'model.save',
      () => (model.save as Loose).call(model, path.join(dir, 'm.sfm'), { weightOnly: true }),
      "'weightOnly' in options (did you mean 'weightsOnly'?)",
    ],
    [
      'model.parameterCount',
      () => (model.parameterCount as Loose).call(model, { heads: false }),
      "'heads' in options (did you mean 'head'?)",
    ],
    [
      'model.trainStep',
      () =>
        model.trainStep({
          images: image,
          labels: Int32Array.of(0),
          n: 1,
          lr: 0.1,
          ...{ weight_decay: 0 },
        }),
      "'weight_decay' in input (did you mean 'weightDecay'?)",
    ],
    [
      'model.embedFiles',
      () => (model.embedFiles as Loose).call(model, [], { batchsize: 8 }),
      "'batchsize' in options (did you mean 'batchSize'?)",
    ],
    [
      'model.verify',
      () => (model.verify as Loose).call(model, 'a.jpg', 'b.jpg', { treshold: 0.3 }),
      "'treshold' in options (did you mean 'threshold'?)",
    ],
    [
      'Gallery.create',
      () => (Gallery.create as Loose)(model, { flp: 'none' }),
      "'flp' in options (did you mean 'flip'?)",
    ],
    [
      'Gallery.build',
      () => (Gallery.build as Loose)(model, { rot: dir }),
      "'rot' in options (did you mean 'root'?)",
    ],
    [
      'gallery.add',
      () => (Gallery.create(model).add as Loose)('Ann', ['a.jpg'], { top: 3 }),
      "Unknown option 'top' in options; the options are flip, batchSize",
    ],
    [
      'gallery.search',
      () => (Gallery.create(model).search as Loose)(['a.jpg'], { tops: 3 }),
      "'tops' in options (did you mean 'top'?)",
    ],
    [
      'Trainer',
      () => new (Trainer as unknown as LooseClass)({ model, data, epoch: 2 }),
      "'epoch' in options (did you mean 'epochs'?)",
    ],
    [
      'Trainer optimizer',
      () => new (Trainer as unknown as LooseClass)({ model, data, optimizer: { momentun: 0.5 } }),
      "'momentun' in optimizer (did you mean 'momentum'?)",
    ],
    [
      'Trainer schedule',
      () =>
        new (Trainer as unknown as LooseClass)({
          model,
          data,
          schedule: { kind: 'multistep', milestone: [10] },
        }),
      "'milestone' in schedule of kind 'multistep' (did you mean 'milestones'?)",
    ],
    [
      "Trainer schedule, another kind's field",
      () =>
        new (Trainer as unknown as LooseClass)({
          model,
          data,
          schedule: { kind: 'cosine', gamma: 0.1 },
        }),
      "Unknown option 'gamma' in schedule of kind 'cosine'; the options are kind, minLr, warmup",
    ],
    [
      'Trainer lambda',
      () => new (Trainer as unknown as LooseClass)({ model, data, lambda: { bas: 100 } }),
      "'bas' in lambda (did you mean 'base'?)",
    ],
    [
      'Trainer evalEvery',
      () => new (Trainer as unknown as LooseClass)({ model, data, evalEvery: { epoch: 1 } }),
      "'epoch' in evalEvery (did you mean 'epochs'?)",
    ],
    [
      'Trainer distributed, at construction',
      () => new (Trainer as unknown as LooseClass)({ model, data, distributed: { worldsize: 2 } }),
      "'worldsize' in distributed (did you mean 'worldSize'?)",
    ],
    [
      'Trainer, a nested option given at the top',
      () => new (Trainer as unknown as LooseClass)({ model, data, lr: 0.01 }),
      "Unknown option 'lr' in options (did you mean 'optimizer.lr'?)",
    ],
    [
      'Trainer, a folder option under another name',
      () => new (Trainer as unknown as LooseClass)({ model, data, checkpointDir: dir }),
      "Unknown option 'checkpointDir' in options (did you mean 'outDir'?)",
    ],
    [
      "createModel, a head's field given at the top",
      () => (createModel as Loose)({ arch: 'sphere-cnn4', classes: 4, head: sphere, m: 2 }),
      "Unknown option 'm' in options (did you mean 'head.m'?)",
    ],
    [
      "a margin head, the papers' letter for scale",
      () =>
        (createModel as Loose)({
          arch: 'sphere-cnn4',
          classes: 4,
          head: { kind: 'cos', m: 0.35, scale: 30, s: 30 },
        }),
      "Unknown option 's' in head of kind 'cos' (did you mean 'scale'?)",
    ],
    [
      'learningRate',
      () => (learningRate as Loose)({ kind: 'constant', warmUp: 5 }, 0.1, 0, 10),
      "'warmUp' in schedule of kind 'constant' (did you mean 'warmup'?)",
    ],
    [
      'lambdaAt',
      () => (lambdaAt as Loose)({ ...DEFAULT_LAMBDA, minimum: 1 }, 0),
      "Unknown option 'minimum' in lambda; the options are base, gamma, power, min",
    ],
    [
      'resolveDistributedOptions',
      () => (resolveDistributedOptions as Loose)({ rank: 0, wordSize: 2 }),
      "'wordSize' in options (did you mean 'worldSize'?)",
    ],
    [
      'ProcessGroup.join',
      () => (ProcessGroup.join as Loose)({ rnk: 0, worldSize: 1 }),
      "'rnk' in options (did you mean 'rank'?)",
    ],
    [
      'marginSoftmaxLoss',
      () =>
        (marginSoftmaxLoss as Loose)({
          features: new Float32Array(2),
          weight: new Float32Array(4),
          labels: Int32Array.of(0),
          dim: 2,
          heads: sphere,
        }),
      "'heads' in input (did you mean 'head'?)",
    ],
    [
      'a margin head',
      () =>
        (createModel as Loose)({
          arch: 'sphere-cnn4',
          classes: 4,
          head: { kind: 'sphere', m: 4, lamda: 5 },
        }),
      "'lamda' in head of kind 'sphere' (did you mean 'lambda'?)",
    ],
    [
      "a margin head with another kind's field",
      () =>
        (createModel as Loose)({
          arch: 'sphere-cnn4',
          classes: 4,
          head: { kind: 'cos', m: 0.35, scale: 64, lambda: 5 },
        }),
      "Unknown option 'lambda' in head of kind 'cos'; the options are kind, m, scale",
    ],
    [
      'loadImages',
      () => (loadImages as Loose)(['a.jpg'], { cachedir: dir }),
      "'cachedir' in options (did you mean 'cacheDir'?)",
    ],
    [
      'decodeImage',
      () => (decodeImage as Loose)(new Uint8Array(4), { maxPixel: 10 }),
      "'maxPixel' in options (did you mean 'maxPixels'?)",
    ],
    [
      'DecodePool',
      () => new (DecodePool as unknown as LooseClass)({ thread: 1 }),
      "'thread' in options (did you mean 'threads'?)",
    ],
    [
      'DecodePool.run',
      () =>
        (DecodePool.shared(1).run as Loose).call(DecodePool.shared(1), [], [], () => {}, {
          maxpixels: 5,
        }),
      "'maxpixels' in options (did you mean 'maxPixels'?)",
    ],
    [
      'DataLoader',
      () =>
        new (DataLoader as unknown as LooseClass)(
          { images: image, n: 1, height: 112, width: 96, labels: Int32Array.of(0) },
          { batchSize: 1, suffle: false },
        ),
      "'suffle' in options (did you mean 'shuffle'?)",
    ],
    [
      'prepareImageStore',
      () =>
        (prepareImageStore as Loose)({
          source: dir,
          out: path.join(dir, 'store'),
          imagesPerShards: 4,
        }),
      "'imagesPerShards' in options (did you mean 'imagesPerShard'?)",
    ],
    [
      'openImageStore',
      () => (openImageStore as Loose)(dir, { verfiy: false }),
      "'verfiy' in options (did you mean 'verify'?)",
    ],
    [
      'recordIOSource',
      () => (recordIOSource as Loose)('train.rec', { index: 'train.idx' }),
      "Unknown option 'index' in options (did you mean 'idx'?); the options are idx, onProgress",
    ],
    [
      'loadVerificationBin',
      () => (loadVerificationBin as Loose)('lfw.bin', { fold: 10 }),
      "'fold' in options (did you mean 'folds'?)",
    ],
    [
      'makeVerificationPairs',
      () => (makeVerificationPairs as Loose)([0, 0, 1, 1], { pairsPerfold: 2 }),
      "'pairsPerfold' in options (did you mean 'pairsPerFold'?)",
    ],
    [
      'FaceAlign',
      () => new (FaceAlign as unknown as LooseClass)({ size: 96 }),
      "Unknown option 'size' in FaceAlign options; the options are width, height, template",
    ],
    [
      'RandomCrop',
      () => new (RandomCrop as unknown as LooseClass)(96, { pad: 4 }),
      "Unknown option 'pad' in RandomCrop options (did you mean 'padding'?)",
    ],
    [
      'LfwDataset',
      () => new (LfwDataset as unknown as LooseClass)(dir, 'pairs.txt', { extention: 'png' }),
      "'extention' in options (did you mean 'extension'?)",
    ],
    [
      'FileListDataset',
      () => new (FileListDataset as unknown as LooseClass)('list.txt', { rot: dir }),
      "'rot' in options (did you mean 'root'?)",
    ],
    [
      'LfwEvaluator',
      () =>
        new (LfwEvaluator as unknown as LooseClass)(
          { images: image, n: 1, height: 112, width: 96 },
          [],
          { subtract_mean: true },
        ),
      "'subtract_mean' in options (did you mean 'subtractMean'?)",
    ],
    [
      'LfwEvaluator threshold',
      () =>
        new (LfwEvaluator as unknown as LooseClass)(
          { images: image, n: 1, height: 112, width: 96 },
          [],
          { threshold: { step: 100 } },
        ),
      "'step' in threshold (did you mean 'steps'?)",
    ],
    [
      'LfwEvaluator afs',
      () =>
        new (LfwEvaluator as unknown as LooseClass)(
          { images: image, n: 1, height: 112, width: 96 },
          [],
          { afs: { defintion: 'seed' } },
        ),
      "'defintion' in afs (did you mean 'definition'?)",
    ],
    [
      'angularFisherScore',
      () => (angularFisherScore as Loose)(new Float32Array(4), [0, 1], 2, { normalise: true }),
      "'normalise' in options (did you mean 'normalize'?)",
    ],
    [
      'writeReport',
      () => (writeReport as Loose)(path.join(dir, 'report'), { summary: {}, note: ['x'] }),
      "'note' in input (did you mean 'notes'?)",
    ],
    [
      'generateSyntheticFaces',
      () =>
        (generateSyntheticFaces as Loose)({
          out: path.join(dir, 'synth'),
          identities: 2,
          images: 2,
          heldOutIdentitys: 2,
        }),
      "'heldOutIdentitys' in options (did you mean 'heldOutIdentities'?)",
    ],
  ];

  for (const [name, call, message] of cases) {
    it(`${name} refuses a misspelt option, naming it`, async () => {
      const error = await thrown(call);
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.include(message);
    });
  }

  it('an option set to null is refused, not taken as its default', async () => {
    const error = await thrown(() => (Gallery.create as Loose)(model, { flip: null }));
    expect(error.message).to.equal(
      "Option 'flip' in options is null; no option takes null (leave an optional one out for its default)",
    );
  });

  it("a dataset's load refuses labels of its own, and misspelt names through loadImages", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-option-names-set-'));
    for (const name of ['ann', 'bob']) {
      fs.mkdirSync(path.join(root, name));
      fs.writeFileSync(path.join(root, name, '1.jpg'), 'not decoded: refused before');
    }
    const folder = new ImageFolderDataset(root);
    const load = folder.load.bind(folder) as Loose;
    expect((await thrown(() => load({ labels: [1, 0] }))).message).to.equal(
      'ImageFolderDataset.load: the dataset gives each image its label; leave labels out of the options',
    );
    expect((await thrown(() => load({ cachedir: root }))).message).to.include(
      "Unknown option 'cachedir' in options (did you mean 'cacheDir'?)",
    );
    // labels: undefined is no label given; a file as cacheDir is named before any decoding.
    const file = path.join(root, 'ann', '1.jpg');
    expect((await thrown(() => load({ labels: undefined, cacheDir: file }))).message).to.equal(
      `loadImages: cacheDir ${file} is a file, not a folder`,
    );
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('leaves nothing behind for the calls that write', () => {
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});

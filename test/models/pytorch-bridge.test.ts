import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ARCHS,
  createModel,
  importStateDict,
  inputSizeOf,
  type Arch,
  type Model,
  type ModelOptions,
} from '../../lib';
import { readStateDictFile } from '../../lib/data/formats/torch-file';
import { syntheticIdentities } from './synthetic-identities';
import { torchPython, torchRequired } from './torch-python';
import { rejection } from '../rejection';
import { corrupted, rowMajor, stateDictBytes } from '../data/formats/torch-writer';

const CHECK = path.resolve(__dirname, '..', '..', '..', 'test', 'python', 'bridge_check.py');
const CLASSES = 5;
const N = 3;

interface Job {
  kind: 'embed' | 'make' | 'clcarwin';
  arch: Arch;
  classes: number;
  stateDict: string;
  images: string;
  n: number;
  out: string;
  seed?: number;
  dropHead?: boolean;
  embeddingDim?: number;
  headBias?: boolean;
  keyPrefix?: string;
  nanKey?: string;
}

interface JobReport {
  keys: string[];
  orderMatches?: boolean;
  allFloat32?: boolean;
}

/** The largest relative error, ||ours - theirs|| / ||theirs||, over the rows (embeddings). */
function relativeError(ours: Float32Array, theirs: Float32Array, dim = 512): number {
  expect(ours.length).to.equal(theirs.length);
  let worst = 0;
  for (let row = 0; row < ours.length / dim; row++) {
    let diff = 0;
    let norm = 0;
    for (let k = row * dim; k < (row + 1) * dim; k++) {
      diff += (ours[k] - theirs[k]) ** 2;
      norm += theirs[k] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(diff / norm));
  }
  return worst;
}

function readFloats(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  return new Float32Array(new Uint8Array(bytes).buffer);
}

function imagesFor(arch: Arch, seed: number) {
  const { height, width } = inputSizeOf(arch);
  return syntheticIdentities({ identities: N, imagesPerIdentity: 1, height, width, seed });
}

describe('PyTorch state_dicts', function () {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-torch-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (name: string) => path.join(dir, name);

  /** A model whose biases, slopes and head moved off their initial values by one step. */
  async function steppedModel(
    arch: Arch,
    seed: number,
    options: Partial<ModelOptions> = {},
  ): Promise<Model> {
    const model = await createModel({
      arch,
      classes: CLASSES,
      head: { kind: 'cos', m: 0.35, scale: 30 },
      device: 'cpu',
      seed,
      ...options,
    });
    const { height, width } = inputSizeOf(arch);
    const data = syntheticIdentities({ identities: CLASSES, imagesPerIdentity: 1, height, width });
    expect((await model.trainStep({ ...data, lr: 0.05 })).updated).to.equal(true);
    return model;
  }

  describe('with PyTorch (needs python3-torch)', function () {
    let python: string;
    before(function () {
      const found = torchPython();
      if (!found) {
        if (torchRequired) {
          throw new Error('SPHEREFACE_REQUIRE_TORCH=1 but no python3 imports torch');
        }
        this.skip();
      }
      python = found!;
    });

    async function runJobs(jobs: Job[]): Promise<JobReport[]> {
      const jobsFile = file(`jobs-${jobs[0].kind}.json`);
      fs.writeFileSync(jobsFile, JSON.stringify(jobs));
      const { stdout } = await promisify(execFile)(python, [CHECK, jobsFile], {
        maxBuffer: 64 << 20,
        env: { ...process.env, SPHEREFACE_NUM_THREADS: '2' },
      });
      return JSON.parse(stdout) as JobReport[];
    }

    it('our export, loaded by python/sphereface_torch.py, embeds as model.embed does, every arch (needs python3-torch)', async () => {
      const jobs: Job[] = [];
      const ours = new Map<Arch, Float32Array>();
      for (const [i, arch] of ARCHS.entries()) {
        const model = await steppedModel(arch, 10 + i);
        try {
          const images = imagesFor(arch, 20 + i);
          ours.set(arch, await model.embed(images.images, N));
          await model.exportStateDict(file(`${arch}.pt`));
          fs.writeFileSync(file(`${arch}.rgb`), images.images);
        } finally {
          model.dispose();
        }
        const [stateDict, images, out] = [`${arch}.pt`, `${arch}.rgb`, `${arch}.theirs`].map(file);
        jobs.push({ kind: 'embed', arch, classes: CLASSES, stateDict, images, n: N, out });
      }
      const reports = await runJobs(jobs);
      for (const [i, arch] of ARCHS.entries()) {
        expect(reports[i].orderMatches, `${arch}: key order`).to.equal(true);
        expect(reports[i].allFloat32, `${arch}: dtypes`).to.equal(true);
        expect(reports[i].keys.at(-1)).to.equal('head.weight');
        const error = relativeError(ours.get(arch)!, readFloats(jobs[i].out));
        expect(error, arch).to.be.below(1e-4);
      }
    });

    it('a state_dict PyTorch wrote from that definition imports and embeds as PyTorch does (needs python3-torch)', async () => {
      const jobs = ARCHS.map((arch, i): Job => {
        fs.writeFileSync(file(`${arch}-in.rgb`), imagesFor(arch, 30 + i).images);
        return {
          kind: 'make',
          arch,
          classes: CLASSES,
          seed: 40 + i,
          stateDict: file(`${arch}-made.pt`),
          images: file(`${arch}-in.rgb`),
          n: N,
          out: file(`${arch}-made.theirs`),
        };
      });
      await runJobs(jobs);
      for (const [i, arch] of ARCHS.entries()) {
        const model = await importStateDict(jobs[i].stateDict, { arch, device: 'cpu' });
        try {
          expect(model.classes).to.equal(CLASSES);
          expect(model.steps).to.equal(0);
          const ours = await model.embed(imagesFor(arch, 30 + i).images, N);
          expect(relativeError(ours, readFloats(jobs[i].out)), arch).to.be.below(1e-4);
          // The head came across as it was (our export writes it back unchanged).
          await model.exportStateDict(file(`${arch}-again.pt`));
          const [theirs, again] = await Promise.all(
            [jobs[i].stateDict, file(`${arch}-again.pt`)].map(readStateDictFile),
          );
          const head = (t: typeof theirs) => t.find((x) => x.name === 'head.weight')!.data;
          expect(head(again)).to.deep.equal(head(theirs));
        } finally {
          model.dispose();
        }
      }
    });

    it("clcarwin's sphere20a layout imports (BGR folded into the first conv, fc6 transposed) and embeds as its forward (needs python3-torch)", async () => {
      const classes = 7;
      fs.writeFileSync(file('clcarwin.rgb'), imagesFor('sphere20a', 50).images);
      const job: Job = {
        kind: 'clcarwin',
        arch: 'sphere20a',
        classes,
        seed: 51,
        stateDict: file('clcarwin.pth'),
        images: file('clcarwin.rgb'),
        n: N,
        out: file('clcarwin.theirs'),
      };
      const [report] = await runJobs([job]);
      expect(report.keys.slice(0, 4)).to.deep.equal([
        'conv1_1.weight',
        'conv1_1.bias',
        'relu1_1.weight',
        'conv1_2.weight',
      ]);
      const wrongArch = await rejection(importStateDict(job.stateDict, { arch: 'sphere20' }));
      expect(wrongArch.message).to.equal(
        `${job.stateDict}: holds clcarwin/sphereface_pytorch's sphere20a (key 'conv1_1.weight'), ` +
          "not a sphere20: import it with arch 'sphere20a'",
      );
      const model = await importStateDict(job.stateDict, { arch: 'sphere20a', device: 'cpu' });
      try {
        expect(model.classes).to.equal(classes);
        const ours = await model.embed(imagesFor('sphere20a', 50).images, N);
        expect(relativeError(ours, readFloats(job.out))).to.be.below(1e-4);
        // The head: fc6 (512 x classes) transposed, row c = column c.
        await model.exportStateDict(file('clcarwin-ours.pt'));
        const fc6 = (await readStateDictFile(job.stateDict)).find((t) => t.name === 'fc6.weight')!;
        const head = (await readStateDictFile(file('clcarwin-ours.pt'))).find(
          (t) => t.name === 'head.weight',
        )!;
        expect(head.shape).to.deep.equal([classes, 512]);
        for (let c = 0; c < classes; c++) {
          for (let k = 0; k < 512; k++)
            expect(head.data[c * 512 + k]).to.equal(fc6.data[k * classes + c]);
        }
      } finally {
        model.dispose();
      }
    });

    it('a state_dict without a head imports with { classes } and a fresh head, and says so without (needs python3-torch)', async () => {
      fs.writeFileSync(file('headless.rgb'), imagesFor('sphere4', 60).images);
      const job: Job = {
        kind: 'make',
        arch: 'sphere4',
        classes: CLASSES,
        seed: 61,
        dropHead: true,
        stateDict: file('headless.pt'),
        images: file('headless.rgb'),
        n: N,
        out: file('headless.theirs'),
      };
      await runJobs([job]);
      const refused = await rejection(importStateDict(job.stateDict, { arch: 'sphere4' }));
      expect(refused.message).to.equal(
        `${job.stateDict}: holds no margin head ('head.weight'); pass { classes } (--classes N) to start a fresh head`,
      );
      const model = await importStateDict(job.stateDict, {
        arch: 'sphere4',
        classes: 9,
        seed: 1,
        device: 'cpu',
      });
      try {
        expect(model.classes).to.equal(9);
        const ours = await model.embed(imagesFor('sphere4', 60).images, N);
        expect(relativeError(ours, readFloats(job.out))).to.be.below(1e-4);
      } finally {
        model.dispose();
      }
    });

    it("a softmax head's bias and another embedding size cross both ways; DataParallel's 'module.' keys read; NaN and another prefix refused (needs python3-torch)", async () => {
      const softmax = { head: { kind: 'softmax' as const }, embeddingDim: 64 };
      const model = await steppedModel('sphere-cnn4', 90, softmax);
      const images = imagesFor('sphere-cnn4', 91).images;
      fs.writeFileSync(file('softmax.rgb'), images);
      let ours: Float32Array;
      try {
        ours = await model.embed(images, N);
        await model.exportStateDict(file('softmax.pt'));
      } finally {
        model.dispose();
      }
      const made = (name: string, extra: Partial<Job>): Job => ({
        kind: 'make',
        arch: 'sphere-cnn4',
        classes: CLASSES,
        seed: 92,
        embeddingDim: 64,
        headBias: true,
        stateDict: file(`${name}.pt`),
        images: file('softmax.rgb'),
        n: N,
        out: file(`${name}.theirs`),
        ...extra,
      });
      const jobs: Job[] = [
        {
          kind: 'embed',
          arch: 'sphere-cnn4',
          classes: CLASSES,
          stateDict: file('softmax.pt'),
          images: file('softmax.rgb'),
          n: N,
          out: file('softmax.theirs'),
        },
        made('wrapped', { keyPrefix: 'module.' }),
        made('nan', { nanKey: 'fc.bias' }),
        made('prefixed', { keyPrefix: 'backbone.' }),
      ];
      const reports = await runJobs(jobs);
      expect(reports[0].orderMatches).to.equal(true);
      expect(reports[0].keys.slice(-2)).to.deep.equal(['head.weight', 'head.bias']);
      expect(relativeError(ours, readFloats(jobs[0].out), 64)).to.be.below(1e-4);
      expect(reports[1].keys[0]).to.equal('module.conv1.weight');

      const wrapped = await importStateDict(jobs[1].stateDict, {
        arch: 'sphere-cnn4',
        head: { kind: 'softmax' },
        device: 'cpu',
      });
      try {
        expect([wrapped.classes, wrapped.embeddingDim]).to.deep.equal([CLASSES, 64]);
        const theirs = readFloats(jobs[1].out);
        expect(relativeError(await wrapped.embed(images, N), theirs, 64)).to.be.below(1e-4);
        // The bias came across: the export holds PyTorch's values.
        await wrapped.exportStateDict(file('wrapped-again.pt'));
        const bias = async (f: string, key: string) =>
          (await readStateDictFile(f)).find((t) => t.name === key)!.data;
        expect(await bias(file('wrapped-again.pt'), 'head.bias')).to.deep.equal(
          await bias(jobs[1].stateDict, 'module.head.bias'),
        );
      } finally {
        wrapped.dispose();
      }
      const nan = await rejection(
        importStateDict(jobs[2].stateDict, { arch: 'sphere-cnn4', head: { kind: 'softmax' } }),
      );
      expect(nan.message).to.equal(
        `${jobs[2].stateDict}: key 'fc.bias' holds NaN at element 0: weights must be finite`,
      );
      // Keys under a prefix other than DataParallel's: named as such, before any head advice.
      const prefixed = await rejection(importStateDict(jobs[3].stateDict, { arch: 'sphere-cnn4' }));
      expect(prefixed.message).to.equal(
        `${jobs[3].stateDict}: holds no 'fc.weight', so it is not a sphere-cnn4's state_dict ` +
          "(its first key: 'backbone.conv1.weight')",
      );
    });
  });

  describe('export and import (no PyTorch needed)', () => {
    async function exported(arch: Arch, seed: number): Promise<string> {
      const model = await steppedModel(arch, seed);
      try {
        await model.exportStateDict(file(`${arch}-${seed}.pt`));
      } finally {
        model.dispose();
      }
      return file(`${arch}-${seed}.pt`);
    }

    it('round-trips: an imported export embeds bit for bit as the model it came from', async () => {
      const model = await steppedModel('sphere10', 70);
      try {
        const out = file('round-trip.pt');
        await model.exportStateDict(out);
        expect(fs.readdirSync(dir).filter((n) => n.includes('round-trip'))).to.deep.equal([
          'round-trip.pt',
        ]); // no temporary file left behind
        const tensors = await readStateDictFile(out);
        expect(tensors.slice(0, 4).map((t) => [t.name, t.shape])).to.deep.equal([
          ['conv1.weight', [64, 3, 3, 3]],
          ['conv1.bias', [64]],
          ['prelu1.weight', [64]],
          ['conv2.weight', [128, 64, 3, 3]],
        ]);
        const imported = await importStateDict(out, {
          arch: 'sphere10',
          head: { kind: 'cos', m: 0.35, scale: 30 },
          device: 'cpu',
        });
        try {
          const { images } = imagesFor('sphere10', 71);
          expect(await imported.embed(images, N)).to.deep.equal(await model.embed(images, N));
        } finally {
          imported.dispose();
        }
      } finally {
        model.dispose();
      }
    });

    it("round-trips a softmax head's bias and a 128-wide embedding, the sizes read from the file", async () => {
      const softmax = { head: { kind: 'softmax' as const }, embeddingDim: 128 };
      const model = await steppedModel('sphere4', 75, softmax);
      const out = file('softmax-128.pt');
      try {
        await model.exportStateDict(out);
        const tensors = await readStateDictFile(out);
        expect(tensors.slice(-2).map((t) => [t.name, t.shape])).to.deep.equal([
          ['head.weight', [CLASSES, 128]],
          ['head.bias', [CLASSES]],
        ]);
        // The step moved the bias off its zeros: a dropped bias would show.
        expect(tensors.at(-1)!.data.some((v) => v !== 0)).to.equal(true);
        const imported = await importStateDict(out, { ...softmax, arch: 'sphere4', device: 'cpu' });
        try {
          expect([imported.classes, imported.embeddingDim]).to.deep.equal([CLASSES, 128]);
          const { images } = imagesFor('sphere4', 76);
          expect(await imported.embed(images, N)).to.deep.equal(await model.embed(images, N));
          await imported.exportStateDict(file('softmax-128-again.pt'));
          expect(await readStateDictFile(file('softmax-128-again.pt'))).to.deep.equal(tensors);
        } finally {
          imported.dispose();
        }
      } finally {
        model.dispose();
      }
      const asSphere = await rejection(importStateDict(out, { arch: 'sphere4', device: 'cpu' }));
      expect(asSphere.message).to.equal(
        `${out}: key 'head.bias' is not a weight of a sphere4 (sphereface's layout) (a softmax head's: import with that head)`,
      );
      const wrongDim = await rejection(
        importStateDict(out, { ...softmax, arch: 'sphere4', embeddingDim: 512 }),
      );
      expect(wrongDim.message).to.equal(
        `${out}: key 'head.weight' has shape [${CLASSES}, 128], not [classes, 512] with classes >= 2 ` +
          '(the embedding size given)',
      );
      const badDim = await rejection(importStateDict(out, { arch: 'sphere4', embeddingDim: 0 }));
      expect(badDim.message).to.match(/embeddingDim/);
    });

    it("checks every key's shape before reading any data: an expanded fc.weight is refused unread", async () => {
      const out = await exported('sphere4', 85);
      const tensors = await readStateDictFile(out);
      // The export again, by hand, but 'fc.weight' a stride-0 view of one element: 2^31 of them
      // (8 GB) once read. Its storage is corrupt too, which a read would report instead.
      const storages: Record<string, Float32Array> = { expanded: Float32Array.from([0.5]) };
      const specs = tensors.map((t, i) => {
        if (t.name !== 'fc.weight') {
          storages[String(i)] = t.data;
          return { name: t.name, storage: String(i), shape: t.shape, stride: rowMajor(t.shape) };
        }
        return { name: t.name, storage: 'expanded', shape: [512, 1 << 22], stride: [0, 0] };
      });
      const expanded = file('expanded.pt');
      fs.writeFileSync(
        expanded,
        corrupted(stateDictBytes(specs, storages), 'archive/data/expanded'),
      );
      const error = await rejection(importStateDict(expanded, { arch: 'sphere4', device: 'cpu' }));
      expect(error.message).to.equal(
        `${expanded}: key 'fc.weight' has shape [512, 4194304] but a sphere4 (sphereface's layout) ` +
          'expects [512, 21504]',
      );
      // An 'fc.weight' of other rows, which give the embedding size: the head then disagrees,
      // and the message names both keys.
      const rows = specs.map((spec) =>
        spec.name === 'fc.weight' ? { ...spec, shape: [1000, 21504], stride: [0, 0] } : spec,
      );
      const otherRows = file('fc-rows.pt');
      fs.writeFileSync(otherRows, stateDictBytes(rows, storages));
      const head = tensors.find((t) => t.name === 'head.weight')!.shape;
      const disagree = await rejection(importStateDict(otherRows, { arch: 'sphere4' }));
      expect(disagree.message).to.equal(
        `${otherRows}: key 'head.weight' has shape [${head.join(', ')}], not [classes, 1000] with ` +
          "classes >= 2 (the embedding size of 'fc.weight' of shape [1000, 21504])",
      );
    });

    it('names the first key that does not match the arch, or the first one missing', async () => {
      const sphere20 = await exported('sphere20', 80);
      const sphere10 = await exported('sphere10', 81);
      const cnn = await exported('sphere-cnn4', 82);
      const cases: [string, Parameters<typeof importStateDict>[1], string][] = [
        [
          sphere20,
          { arch: 'sphere10' },
          "key 'stage1_unit1.conv1.weight' is not a weight of a sphere10 (sphereface's layout)",
        ],
        [
          sphere10,
          { arch: 'sphere20' },
          "key 'stage1_unit1.conv1.weight' is missing (a sphere20 (sphereface's layout) has 47 weights)",
        ],
        [
          sphere20,
          { arch: 'sphere20a' },
          "key 'stage1_unit1.conv1.bias' is missing (a sphere20a (sphereface's layout) has 63 weights)",
        ],
        [
          cnn,
          { arch: 'sphere4' },
          "key 'conv1.weight' has shape [32, 3, 3, 3] but a sphere4 (sphereface's layout) expects [64, 3, 3, 3]",
        ],
        [
          sphere20,
          { arch: 'sphere20', classes: 7 },
          "key 'head.weight' has shape [5, 512] but a sphere20 (sphereface's layout) expects [7, 512]",
        ],
      ];
      for (const [input, options, why] of cases) {
        const error = await rejection(importStateDict(input, { device: 'cpu', ...options }));
        expect(error.message).to.equal(`${input}: ${why}`);
      }
    });
  });
});

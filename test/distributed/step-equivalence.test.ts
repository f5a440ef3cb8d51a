// Data-parallel steps against one process: two ranks, each training on its part of every batch,
// must end with the weights (and momentum buffers) of one process that trains on whole batches.
//
// Tolerance: the two runs compute the same sums in another order (per-rank means, then a weighted
// sum over ranks, vs one mean), so they differ by float32 rounding only. Each tensor's difference
// must stay below 1e-4 of the largest change the steps made to it (for a momentum buffer: of the
// buffer). A wrong scaling of any rank's gradient (a sum instead of a mean, or equal weights for
// unequal parts) misses this by two orders of magnitude or more.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel } from '../../lib';
import { finishRanks, freePort, requireGloo, startRanks } from './helpers';
import {
  expectSameTensors,
  readModelFileTensors,
  type ModelFileContents,
} from './model-file-tensors';
import { stepBatch, type StepSpec } from './workers/step-worker';

const WORKER = path.join(__dirname, 'workers', 'step-worker.js');
const TOLERANCE = 1e-4;

/** The same steps in this process, on whole batches: the model before and after them. */
async function oneProcess(spec: StepSpec, dir: string) {
  const model = await createModel({
    arch: spec.arch,
    classes: spec.classes,
    head: spec.head,
    device: 'cpu',
    seed: spec.modelSeed,
  });
  try {
    await model.save(path.join(dir, 'initial.model'));
    const results = [];
    for (let b = 0; b < spec.parts.length; b++) {
      const batch = stepBatch(spec, b);
      results.push(
        await model.trainStep({
          ...batch,
          lr: spec.lr,
          lambda: spec.lambda,
          momentum: 0.9,
          weightDecay: 5e-4,
        }),
      );
    }
    await model.save(path.join(dir, 'single.model'));
    return {
      results,
      initial: readModelFileTensors(path.join(dir, 'initial.model')),
      final: readModelFileTensors(path.join(dir, 'single.model')),
    };
  } finally {
    model.dispose();
  }
}

function expectSameUpdate(
  initial: ModelFileContents,
  single: ModelFileContents,
  distributed: ModelFileContents,
): void {
  expect([...distributed.tensors.keys()]).to.deep.equal([...single.tensors.keys()]);
  for (const [name, expected] of single.tensors) {
    const start = initial.tensors.get(name); // momentum buffers start from zero
    const actual = distributed.tensors.get(name)!;
    let change = 0;
    let error = 0;
    for (let i = 0; i < expected.length; i++) {
      change = Math.max(change, Math.abs(expected[i] - (start ? start[i] : 0)));
      error = Math.max(error, Math.abs(actual[i] - expected[i]));
    }
    expect(change, `${name} changed`).to.be.greaterThan(0);
    expect(error, `${name}: largest difference vs largest change ${change}`).to.be.at.most(
      TOLERANCE * change,
    );
  }
}

async function compare(spec: Omit<StepSpec, 'out'>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-ddp-'));
  try {
    const full: StepSpec = { ...spec, out: path.join(dir, 'ranked.model') };
    const port = await freePort();
    const ranks = await finishRanks(startRanks(2, port, WORKER, [JSON.stringify(full)]));
    const reference = await oneProcess(full, dir);
    const rank0 = readModelFileTensors(`${full.out}.rank0`);
    const rank1 = readModelFileTensors(`${full.out}.rank1`);
    // The ranks hold one model: the same bits.
    expectSameTensors(rank1, rank0);
    expect(rank0.steps).to.equal(spec.parts.length);
    expectSameUpdate(reference.initial, reference.final, rank0);
    // Each rank reports the whole step's loss, accuracy and image count.
    for (const r of ranks) {
      const results = JSON.parse(r.stdout) as { loss: number; accuracy: number; images: number }[];
      results.forEach((result, b) => {
        const single = reference.results[b];
        expect(result.images).to.equal(stepBatch(full, b).n);
        expect(result.loss).to.be.closeTo(single.loss, 1e-5 * Math.abs(single.loss));
        expect(result.accuracy).to.be.closeTo(single.accuracy, 1e-9);
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const halves = (n: number) => [
  { start: 0, n: n / 2 },
  { start: n / 2, n: n / 2 },
];

describe('distributed data-parallel steps', function () {
  before(function () {
    requireGloo(this);
  });

  it('two ranks with half of each batch end as one process with whole batches (sphere head)', async () => {
    await compare({
      arch: 'sphere4',
      head: { kind: 'sphere', m: 4 },
      classes: 4,
      imagesPerIdentity: 2,
      modelSeed: 5,
      parts: [halves(8), halves(8)],
      lr: 0.05,
      lambda: 5,
    });
  });

  it('two ranks with half of each batch end as one process with whole batches (arc head)', async () => {
    await compare({
      arch: 'sphere-cnn4',
      head: { kind: 'arc', m: 0.5, scale: 30 },
      classes: 4,
      imagesPerIdentity: 2,
      modelSeed: 6,
      parts: [halves(8), halves(8)],
      lr: 0.05,
      lambda: 0,
    });
  });

  it("weighs an uneven split by each rank's images (5 + 3 and 2 + 6)", async () => {
    await compare({
      arch: 'sphere-cnn4',
      head: { kind: 'sphere', m: 4 },
      classes: 4,
      imagesPerIdentity: 2,
      modelSeed: 7,
      parts: [
        [
          { start: 0, n: 5 },
          { start: 5, n: 3 },
        ],
        [
          { start: 0, n: 2 },
          { start: 2, n: 6 },
        ],
      ],
      lr: 0.05,
      lambda: 5,
    });
  });
});

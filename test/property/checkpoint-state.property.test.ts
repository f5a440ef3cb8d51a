// Property tests of a checkpoint's state.json as a resume reads it: damaged bytes, fields
// replaced by random JSON values or removed. readCheckpoint must give a state a resume can
// trust (every field of its type and range) or an error naming the file.
import { expect } from 'chai';
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCheckpoint, writeCheckpoint, type CheckpointState } from '../../lib/train/checkpoint';
import { validateMarginHead } from '../../lib/ops/margin-head';
import { tempDir } from '../data/helpers';
import { FakeModel } from '../train/fakes';
import {
  applyAll,
  attempt,
  byteMutation,
  hugeNumber,
  mutations,
  peakRssMb,
  runs,
  settings,
} from './property';

const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

/** What the trainer reads from a state when it resumes, checked here independently. */
function trustworthy(s: CheckpointState): void {
  expect(typeof s.runId === 'string' && s.runId !== '', 'runId').to.equal(true);
  for (const k of ['iteration', 'epoch', 'batch'] as const) expect(count(s[k]), k).to.equal(true);
  expect(count(s.epochTotals.batches) && count(s.epochTotals.images)).to.equal(true);
  expect(finite(s.epochTotals.lossSum) && finite(s.epochTotals.accuracySum)).to.equal(true);
  expect(finite(s.lr) && (s.lambda === undefined || finite(s.lambda))).to.equal(true);
  expect(
    ['lr', 'momentum', 'weightDecay'].every((k) =>
      finite((s.optimizer as Record<string, unknown>)[k]),
    ),
  ).to.equal(true);
  expect(typeof s.optimizer.nesterov).to.equal('boolean');
  expect(['multistep', 'cosine', 'constant']).to.include(s.schedule.kind);
  expect(count(s.totalIterations) && s.totalIterations >= 1).to.equal(true);
  expect(count(s.classes) && s.classes >= 1 && typeof s.arch === 'string').to.equal(true);
  expect(() => validateMarginHead(s.head)).to.not.throw();
}

const FIELDS = [
  'version',
  'runId',
  'iteration',
  'epoch',
  'batch',
  'epochTotals',
  'epochTotals.lossSum',
  'epochTotals.batches',
  'lr',
  'lambda',
  'optimizer',
  'optimizer.momentum',
  'optimizer.nesterov',
  'schedule',
  'schedule.kind',
  'schedule.milestones',
  'lambdaSchedule',
  'lambdaSchedule.base',
  'totalIterations',
  'seed',
  'arch',
  'classes',
  'head',
  'head.kind',
  'head.m',
  'savedAt',
];

/** A field (or nested field) replaced by a random JSON value, a huge number, or removed. */
const fieldEdit = fc.record({
  field: fc.constantFrom(...FIELDS),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    hugeNumber.map(Number),
    fc.constantFrom(-1, 0.5, 1e308, -0, null, undefined, '1', true, [], {}),
  ),
});

function edit(state: Record<string, unknown>, field: string, value: unknown): void {
  const keys = field.split('.');
  let at: unknown = state;
  for (const k of keys.slice(0, -1)) {
    if (typeof at !== 'object' || at === null) return;
    at = (at as Record<string, unknown>)[k];
  }
  if (typeof at !== 'object' || at === null) return;
  const last = keys[keys.length - 1];
  if (value === undefined) delete (at as Record<string, unknown>)[last];
  else (at as Record<string, unknown>)[last] = structuredClone(value);
}

describe('checkpoint state.json under damage (fast-check)', function () {
  this.timeout(600_000);
  let dir: string;
  let stateFile: string;
  let original: string;

  before(async () => {
    const root = tempDir('sphereface-property-ckpt-');
    const model = new FakeModel(3, { kind: 'sphere', m: 4 });
    const written = await writeCheckpoint(
      root,
      model,
      {
        runId: 'run-a',
        iteration: 12,
        epoch: 1,
        batch: 2,
        epochTotals: { lossSum: 3.5, accuracySum: 0.75, batches: 2, images: 8 },
        lr: 0.05,
        lambda: 120,
        optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: false },
        schedule: { kind: 'multistep', milestones: [16, 24], gamma: 0.1 },
        lambdaSchedule: { base: 1000, gamma: 0.12, power: 1, min: 5 },
        totalIterations: 28,
        seed: 7,
        arch: model.arch,
        classes: 3,
        head: model.head,
      },
      0,
    );
    dir = written.dir;
    stateFile = path.join(dir, 'state.json');
    original = fs.readFileSync(stateFile, 'utf8');
  });

  after(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it(`readCheckpoint gives a trustworthy state or an error naming state.json for ${runs(1000)} edited fields`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fieldEdit, { minLength: 1, maxLength: 3 }), async (edits) => {
        const state = JSON.parse(original) as Record<string, unknown>;
        for (const e of edits) edit(state, e.field, e.value);
        fs.writeFileSync(stateFile, JSON.stringify(state));
        const read = await attempt(stateFile, () => readCheckpoint(dir));
        if (read.ok) trustworthy(read.ok.state);
      }),
      settings(runs(1000)),
    );
  });

  it(`readCheckpoint gives a trustworthy state or an error naming state.json for ${runs(1000)} damaged files`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(mutations([byteMutation]), async (list) => {
        fs.writeFileSync(stateFile, applyAll(Buffer.from(original), list));
        const read = await attempt(stateFile, () => readCheckpoint(dir));
        if (read.ok) trustworthy(read.ok.state);
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  it('refuses the JSON values that are no state at all, naming the file', async () => {
    for (const text of ['null', '[]', '"x"', '7', 'true', '{}']) {
      fs.writeFileSync(stateFile, text);
      const read = await attempt(stateFile, () => readCheckpoint(dir));
      expect(read.error?.message, text).to.match(/state\.json/);
    }
  });
});

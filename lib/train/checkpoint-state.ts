// Reading a checkpoint's state.json back: every field a resume relies on is checked for its
// type and range, so a damaged or hand-edited file is an error naming the file and the field,
// never a resume from a nonsense position.
import { validateMarginHead } from '../ops/margin-head';
import { describeReceived } from '../util/describe-received';
import type { CheckpointState } from './checkpoint';
import { validateLambdaSchedule } from './lambda-schedule';
import { validateSchedule } from './schedule';

export const STATE_VERSION = 2;

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks each field with a test and names the first bad one. */
class FieldCheck {
  constructor(private readonly fail: (why: string) => Error) {}

  object(parent: Fields, key: string, where = key): Fields {
    const v = parent[key];
    if (!isObject(v))
      throw this.fail(`expected an object for ${where} but found ${describeReceived(v)}`);
    return v;
  }

  count(parent: Fields, key: string, where = key, min = 0): void {
    const v = parent[key];
    if (!(Number.isSafeInteger(v) && (v as number) >= min)) {
      throw this.fail(
        `expected an integer >= ${min} for ${where} but found ${describeReceived(v)}`,
      );
    }
  }

  finite(parent: Fields, key: string, where = key, optional = false): void {
    const v = parent[key];
    if (optional && v === undefined) return;
    if (!(typeof v === 'number' && Number.isFinite(v))) {
      throw this.fail(`expected a finite number for ${where} but found ${describeReceived(v)}`);
    }
  }

  string(parent: Fields, key: string): void {
    const v = parent[key];
    if (typeof v !== 'string' || v === '') {
      throw this.fail(`expected a non-empty string for ${key} but found ${describeReceived(v)}`);
    }
  }

  boolean(parent: Fields, key: string, where = key): void {
    if (typeof parent[key] !== 'boolean') {
      throw this.fail(
        `expected true or false for ${where} but found ${describeReceived(parent[key])}`,
      );
    }
  }

  /** Fails unless `ok`, saying what `where` should hold. */
  expect(ok: boolean, where: string, expected: string, found: unknown): void {
    if (!ok)
      throw this.fail(`expected ${expected} for ${where} but found ${describeReceived(found)}`);
  }

  /** Runs a validator that throws (the trainer's own option checks), naming the file. */
  valid(check: () => void): void {
    try {
      check();
    } catch (error) {
      throw this.fail((error as Error).message);
    }
  }
}

function checkLoader(check: FieldCheck, loader: Fields): void {
  check.count(loader, 'seed', 'loader.seed');
  check.boolean(loader, 'shuffle', 'loader.shuffle');
  check.boolean(loader, 'dropLast', 'loader.dropLast');
  const centre = loader.centerCrop;
  const size = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
  check.expect(
    centre === false || (Array.isArray(centre) && centre.length === 2 && centre.every(size)),
    'loader.centerCrop',
    'false or [height, width]',
    centre,
  );
  if (loader.randomCrop !== false) {
    const crop = check.object(loader, 'randomCrop', 'loader.randomCrop');
    check.count(crop, 'height', 'loader.randomCrop.height', 1);
    check.count(crop, 'width', 'loader.randomCrop.width', 1);
    check.count(crop, 'padding', 'loader.randomCrop.padding');
  }
  check.finite(loader, 'flip', 'loader.flip');
}

/** Parses and checks the text of `file` (a state.json). */
export function parseCheckpointState(text: string, file: string): CheckpointState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`checkpoint state ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const fail = (why: string) => new Error(`checkpoint state ${file}: ${why}`);
  if (!isObject(value)) {
    throw fail(`expected a JSON object but found ${describeReceived(value)}`);
  }
  if (value.version !== STATE_VERSION) {
    throw new Error(
      `checkpoint state ${file} has version ${String(value.version)}; expected ${STATE_VERSION}`,
    );
  }
  const check = new FieldCheck(fail);
  check.string(value, 'runId');
  check.count(value, 'iteration');
  check.count(value, 'epoch');
  check.count(value, 'batch');
  const totals = check.object(value, 'epochTotals');
  check.finite(totals, 'lossSum', 'epochTotals.lossSum');
  check.finite(totals, 'accuracySum', 'epochTotals.accuracySum');
  check.count(totals, 'batches', 'epochTotals.batches');
  check.count(totals, 'images', 'epochTotals.images');
  check.finite(value, 'lr');
  check.finite(value, 'lambda', 'lambda', true);
  const optimizer = check.object(value, 'optimizer');
  for (const key of ['lr', 'momentum', 'weightDecay'])
    check.finite(optimizer, key, `optimizer.${key}`);
  check.boolean(optimizer, 'nesterov', 'optimizer.nesterov');
  const schedule = check.object(value, 'schedule');
  check.valid(() => validateSchedule(schedule as never));
  if (value.lambdaSchedule !== false) {
    const lambda = check.object(value, 'lambdaSchedule');
    check.valid(() => validateLambdaSchedule(lambda as never));
  }
  check.count(value, 'totalIterations', 'totalIterations', 1);
  check.finite(value, 'seed');
  check.string(value, 'arch');
  check.count(value, 'classes', 'classes', 1);
  const head = check.object(value, 'head');
  check.valid(() => validateMarginHead(head as never));
  if (value.embeddingDim !== undefined) check.count(value, 'embeddingDim', 'embeddingDim', 1);
  if (value.batchesPerEpoch !== undefined) {
    check.count(value, 'batchesPerEpoch', 'batchesPerEpoch', 1);
  }
  if (value.batchSize !== undefined) check.count(value, 'batchSize', 'batchSize', 1);
  if (value.modelSteps !== undefined) check.count(value, 'modelSteps');
  if (value.loader !== undefined) checkLoader(check, check.object(value, 'loader'));
  if (value.labelling !== undefined) {
    const labelling = check.object(value, 'labelling');
    check.count(labelling, 'images', 'labelling.images', 1);
    check.count(labelling, 'classes', 'labelling.classes', 1);
    check.string(labelling, 'digest');
  }
  if (value.worldSize !== undefined) check.count(value, 'worldSize', 'worldSize', 1);
  check.string(value, 'savedAt');
  return value as unknown as CheckpointState;
}

// Test doubles for the Trainer: a FaceModel whose step is a small, exactly reproducible SGD
// problem (so any change of lr, lambda, momentum, order of batches or optimiser state shows in
// the losses), and a BatchSource that is a pure function of (seed, epoch, batch).
import * as fs from 'node:fs/promises';
import type { Batch, BatchSource } from '../../lib/data/types';
import type { MarginHead } from '../../lib/ops/margin-head';
import type { FaceModel, TrainStepInput, TrainStepResult } from '../../lib/models/types';
import type { CheckpointState } from '../../lib/train/checkpoint';
import { hashWords } from '../../lib/util/random';

export interface FakeModelState {
  weights: number[];
  velocity: number[];
  steps: number;
}

export class FakeModel implements FaceModel {
  readonly arch = 'sphere-cnn4' as const;
  readonly device = 'cpu' as const;
  readonly embeddingDim = 1;
  readonly inputSize: { height: number; width: number };
  readonly calls: TrainStepInput[] = [];
  weights: Float64Array;
  velocity: Float64Array;
  steps = 0;
  /** Step number (1-based) whose loss comes back NaN. */
  nanAtStep = 0;
  /** Milliseconds save() waits between writing the first and the second half of its file. */
  saveDelayMs = 0;
  onSaveHalfway?: () => void;

  constructor(
    readonly classes: number,
    readonly head: MarginHead = { kind: 'sphere', m: 4 },
    size = 4,
    state?: FakeModelState,
  ) {
    this.inputSize = { height: size, width: size };
    this.weights = Float64Array.from(state?.weights ?? new Array<number>(classes).fill(0));
    this.velocity = Float64Array.from(state?.velocity ?? new Array<number>(classes).fill(0));
    this.steps = state?.steps ?? 0;
  }

  parameterCount(): number {
    return this.classes;
  }

  async embed(_images: Uint8Array, n: number): Promise<Float32Array> {
    return new Float32Array(n);
  }

  async trainStep(input: TrainStepInput): Promise<TrainStepResult> {
    this.calls.push({
      ...input,
      images: input.images.slice(),
      labels: input.labels.slice(),
      flip: input.flip?.slice(),
    });
    await new Promise((resolve) => setImmediate(resolve));
    this.steps++;
    const pixels = input.images.length / input.n;
    const grad = new Float64Array(this.classes);
    let loss = 0;
    let hits = 0;
    for (let i = 0; i < input.n; i++) {
      let sum = 0;
      for (let p = 0; p < pixels; p++) sum += input.images[i * pixels + p];
      const target = sum / pixels / 255 + (input.flip?.[i] ? 0.01 : 0);
      const label = input.labels[i];
      const diff = this.weights[label] - target;
      loss += diff * diff;
      if (Math.abs(diff) < 0.05) hits++;
      grad[label] += (2 * diff) / input.n;
    }
    loss = loss / input.n + (input.lambda ?? 0) * 1e-4;
    const momentum = input.momentum ?? 0.9;
    const decay = input.weightDecay ?? 5e-4;
    for (let c = 0; c < this.classes; c++) {
      const g = grad[c] + decay * this.weights[c];
      this.velocity[c] = momentum * this.velocity[c] + g;
      const step = input.nesterov ? g + momentum * this.velocity[c] : this.velocity[c];
      this.weights[c] -= input.lr * step;
    }
    if (this.steps === this.nanAtStep) loss = NaN;
    return { loss, accuracy: hits / input.n };
  }

  async save(path: string): Promise<void> {
    const text = JSON.stringify({
      classes: this.classes,
      head: this.head,
      size: this.inputSize.height,
      weights: Array.from(this.weights),
      velocity: Array.from(this.velocity),
      steps: this.steps,
    });
    const temp = `${path}.tmp`;
    const handle = await fs.open(temp, 'w');
    try {
      const half = Math.floor(text.length / 2);
      await handle.writeFile(text.slice(0, half));
      if (this.saveDelayMs > 0) {
        this.onSaveHalfway?.();
        await new Promise((resolve) => setTimeout(resolve, this.saveDelayMs));
      }
      await handle.writeFile(text.slice(half));
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
  }

  dispose(): void {}
}

export async function loadFakeModel(path: string): Promise<FakeModel> {
  const saved = JSON.parse(await fs.readFile(path, 'utf8')) as FakeModelState & {
    classes: number;
    head: MarginHead;
    size: number;
  };
  return new FakeModel(saved.classes, saved.head, saved.size, saved);
}

/** A checkpoint's state after `iteration` steps of a constant-rate run of `model`. */
export function checkpointStateOf(
  model: Pick<FaceModel, 'arch' | 'classes' | 'head'>,
  iteration: number,
  fields: Partial<CheckpointState> = {},
): Omit<CheckpointState, 'version' | 'savedAt'> {
  return {
    runId: 'run-a',
    iteration,
    epoch: 0,
    batch: iteration,
    epochTotals: { lossSum: 0, accuracySum: 0, batches: iteration, images: 4 * iteration },
    lr: 0.1,
    optimizer: { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: false },
    schedule: { kind: 'constant' },
    lambdaSchedule: false,
    totalIterations: 10,
    seed: 1,
    arch: model.arch,
    classes: model.classes,
    head: model.head,
    ...fields,
  };
}

// Batches depend only on their coordinates.
const hash = (a: number) => hashWords(a);

export class FakeBatchSource implements BatchSource {
  readonly height: number;
  readonly width: number;
  /** (epoch, batch) of every batch handed out, in order. */
  readonly served: Array<[number, number]> = [];

  constructor(
    readonly classes: number,
    readonly batchesPerEpoch: number,
    readonly batchSize = 4,
    readonly seed = 1,
    size = 4,
  ) {
    this.height = size;
    this.width = size;
  }

  batch(epoch: number, index: number): Batch {
    const n = this.batchSize;
    const pixels = this.height * this.width * 3;
    const images = new Uint8Array(n * pixels);
    const labels = new Int32Array(n);
    const flip = new Uint8Array(n);
    let state = hash(this.seed * 1000003 + epoch * 7919 + index);
    for (let i = 0; i < n; i++) {
      state = hash(state);
      labels[i] = state % this.classes;
      flip[i] = (state >>> 8) & 1;
      for (let p = 0; p < pixels; p++) {
        state = hash(state);
        // Each class has its own mean brightness, so the fake model has something to learn.
        images[i * pixels + p] = (labels[i] * 37 + (state % 40)) % 256;
      }
    }
    return { images, labels, flip, n };
  }

  async *batches(epoch: number, startBatch = 0): AsyncIterable<Batch> {
    for (let b = startBatch; b < this.batchesPerEpoch; b++) {
      this.served.push([epoch, b]);
      yield this.batch(epoch, b);
    }
  }
}

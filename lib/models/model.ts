// Model: a libtorch face net + margin head + SGD state living in the native addon.
import { native } from '../native';
import { replaceAtomically } from '../util/atomic-write';
import type { MarginHead } from '../ops/margin-head';
import type { NativeMarginHead } from '../native/loss-binding';
import { inputSizeOf } from './archs';
import { embedFiles, verify } from './face-files';
import type { EmbedFilesOptions, FileEmbeddings, Verdict } from './face-files';
import type {
  NativeModelDescription,
  NativeModelHandle,
  StepTimings,
} from '../native/model-binding';
import type {
  Arch,
  DeviceChoice,
  FaceModel,
  ModelOptions,
  TrainStepInput,
  TrainStepResult,
} from './types';
import {
  expectArch,
  expectDevice,
  expectFlip,
  expectImages,
  expectLabels,
  expectModelOptions,
  expectStepInput,
} from './validate';

export type { StepTimings } from '../native/model-binding';

/**
 * trainStep's input; `decayAll` also decays PReLU slopes and biases (off by default); `timings`
 * asks for the time of each phase (off by default: on CUDA it synchronises between phases).
 */
export interface ModelStepInput extends TrainStepInput {
  decayAll?: boolean;
  timings?: boolean;
}

/** trainStep's result: loss and accuracy, whether the weights moved, and where the time went. */
export interface ModelStepResult extends TrainStepResult {
  /**
   * false when the loss was not finite, or the update would have left a weight too large to use
   * (a magnitude whose square overflows float32): the weights and momentum are then untouched.
   */
  updated: boolean;
  /** Present when the input asked for `timings`. */
  timings?: StepTimings;
}

export interface LoadModelOptions {
  device?: DeviceChoice; // default 'auto'
  arch?: Arch; // when given, a file holding another arch is an error
}

/**
 * A face-recognition model. Calls on one model run one after another, in call order, on the
 * model's own native thread: overlapping `trainStep`/`embed`/`save` calls are queued, never raced.
 */
export class Model implements FaceModel {
  readonly arch: Arch;
  readonly classes: number;
  readonly head: MarginHead;
  readonly device: 'cpu' | 'cuda';
  readonly inputSize: { height: number; width: number };
  readonly embeddingDim: number;
  /** Preprocessing: (x - mean) / std on the uint8 pixels. */
  readonly mean: number;
  readonly std: number;
  /** The same/different threshold `verify` uses when given none (e.g. an evaluation's). */
  threshold: number | undefined = undefined;
  #handle: NativeModelHandle | null;

  private constructor(handle: NativeModelHandle, description: NativeModelDescription) {
    this.#handle = handle;
    this.arch = description.arch as Arch;
    this.classes = description.classes;
    this.embeddingDim = description.embeddingDim;
    this.head = publicHead(description.head);
    this.device = description.device;
    this.inputSize = inputSizeOf(this.arch);
    this.mean = description.mean;
    this.std = description.std;
  }

  /** Builds and initialises a model (see README: initialisation). */
  static async create(options: ModelOptions): Promise<Model> {
    const checked = expectModelOptions(options);
    const handle = new (native().NativeModel)();
    return Model.settle(handle, handle.initialise(checked));
  }

  /** Reads a model file written by `save`: arch, head, weights, optimiser state and step count. */
  static async load(path: string, options: LoadModelOptions = {}): Promise<Model> {
    if (typeof path !== 'string' || path.length === 0) {
      throw new TypeError(`Expected a file path for path but received ${String(path)}`);
    }
    const device = expectDevice(options.device);
    const arch = options.arch === undefined ? null : expectArch(options.arch);
    const handle = new (native().NativeModel)();
    return Model.settle(handle, handle.load(path, device, arch));
  }

  private static async settle(
    handle: NativeModelHandle,
    ready: Promise<NativeModelDescription>,
  ): Promise<Model> {
    try {
      return new Model(handle, await ready);
    } catch (error) {
      handle.dispose();
      throw error;
    }
  }

  private get handle(): NativeModelHandle {
    if (!this.#handle) throw new Error('model is disposed');
    return this.#handle;
  }

  /** SGD steps taken so far (saved with the model). */
  get steps(): number {
    return this.handle.describe().steps;
  }

  /** Calls queued or running on this model. */
  get pending(): number {
    return this.#handle ? this.#handle.inFlight() : 0;
  }

  get disposed(): boolean {
    return this.#handle === null;
  }

  /**
   * Parameters of the net, plus the head's classes x embeddingDim weight (and the softmax head's
   * bias) unless `head: false`.
   */
  parameterCount(options: { head?: boolean } = {}): number {
    return this.handle.parameterCount(options.head ?? true);
  }

  /** Multiply-accumulates of the net's forward pass for one image. */
  macsPerImage(): number {
    return this.handle.macsPerImage();
  }

  /** Eval-mode embeddings, n x embeddingDim; `flip` mirrors the images whose byte is nonzero first. */
  async embed(images: Uint8Array, n: number, flip?: Uint8Array): Promise<Float32Array> {
    const count = expectImages(images, n, this.arch);
    return this.handle.embed(images, count, expectFlip(flip, count));
  }

  /** One SGD step: forward, fused margin loss, backward, fused momentum/weight-decay update. */
  async trainStep(input: ModelStepInput): Promise<ModelStepResult> {
    const options = expectStepInput(
      input,
      this.head.kind === 'sphere' ? (this.head.lambda ?? 0) : 0,
    );
    const n = expectImages(input.images, input.n, this.arch);
    const labels = expectLabels(input.labels, n, this.classes);
    return this.handle.trainStep(input.images, labels, n, expectFlip(input.flip, n), options);
  }

  /** Unit-length embeddings of image files, decoded and cropped to the input size. */
  embedFiles(paths: readonly string[], options?: EmbedFilesOptions): Promise<FileEmbeddings> {
    return embedFiles(this, paths, options);
  }

  /** Cosine similarity of two image files' faces and whether it passes the threshold. */
  verify(
    a: string,
    b: string,
    options?: Pick<EmbedFilesOptions, 'flip' | 'landmarks' | 'boxes' | 'maxPixels'> & {
      threshold?: number;
    },
  ): Promise<Verdict> {
    return verify(this, a, b, options);
  }

  /** Writes arch, head, weights and optimiser state to `path` (temp file + rename). */
  async save(path: string): Promise<void> {
    if (typeof path !== 'string' || path.length === 0) {
      throw new TypeError(`Expected a file path for path but received ${String(path)}`);
    }
    await replaceAtomically(path, (temp) => this.handle.save(temp));
  }

  /** Frees the native memory now. Throws while calls are still running; a no-op when disposed. */
  dispose(): void {
    if (!this.#handle) return;
    this.#handle.dispose();
    this.#handle = null;
  }
}

/** The head as the user gave it, from its native form (every field present). */
function publicHead(head: NativeMarginHead): MarginHead {
  const { kind, m, scale, lambda, easyMargin } = head;
  switch (kind) {
    case 'sphere':
      return { kind, m, lambda };
    case 'cos':
      return { kind, m, scale };
    case 'arc':
      return easyMargin ? { kind, m, scale, easyMargin } : { kind, m, scale };
    case 'softmax':
      return { kind };
  }
}

/** `new` for models: `await createModel({ arch: 'sphere20', classes, head: { kind: 'sphere', m: 4 } })`. */
export function createModel(options: ModelOptions): Promise<Model> {
  return Model.create(options);
}

/** Reads a model file written by `model.save`. */
export function loadModel(path: string, options?: LoadModelOptions): Promise<Model> {
  return Model.load(path, options);
}

/** Native models not yet disposed (or collected): makes leaks visible. */
export function liveModelCount(): number {
  return native().liveModelCount();
}

// Model: a libtorch face net + margin head + SGD state living in the native addon.
import { ProcessGroup } from '../dist/process-group';
import { native, nativeAsync } from '../native';
import { replaceAtomically } from '../util/atomic-write';
import { expectPath } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import type { MarginHead } from '../ops/margin-head';
import type { NativeMarginHead } from '../native/loss-binding';
import { inputSizeOf } from './archs';
import { embedFiles, verify } from './face-files';
import type { EmbedFilesOptions, FileEmbeddings, Verdict, VerifyOptions } from './face-files';
import * as fs from 'node:fs/promises';
import { looksLikeTorchFile, StateDictFile } from '../data/formats/torch-file';
import {
  sizesInStateDict,
  unwrapped,
  matchStateDict,
  type ImportStateDictOptions,
} from './state-dict';
import { expectThreshold, type StoredThreshold } from './threshold';
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
  MODEL_OPTION_KEYS,
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

export interface SaveModelOptions {
  /**
   * Leave out the optimiser state (SGD momentum): about half the size, enough to embed, verify
   * and evaluate. Training a model loaded from such a file starts its momentum from zero.
   */
  weightsOnly?: boolean;
}

const LOAD_OPTION_KEYS: OptionKeys<LoadModelOptions> = { device: true, arch: true };
const SAVE_OPTION_KEYS: OptionKeys<SaveModelOptions> = { weightsOnly: true };

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
  #handle: NativeModelHandle | null;
  #threshold: StoredThreshold | undefined;
  /** Saves and exports in progress (see dispose). */
  #writes = 0;
  /**
   * Set while a write checks its path, before its native call is queued: calls made meanwhile
   * wait for it, so that they reach the native queue in call order (a trainStep called after a
   * save must not change the weights the save writes).
   */
  #writeQueued: Promise<void> | undefined;
  /** What holds the model beyond single calls (a Trainer's fit()), refusing dispose() meanwhile. */
  #holders: string[] = [];

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
    this.#threshold = description.threshold;
  }

  /** Builds and initialises a model (see README: initialisation). */
  static async create(options: ModelOptions): Promise<Model> {
    const checked = expectModelOptions(options);
    const handle = new (await nativeAsync()).NativeModel();
    return Model.settle(handle, handle.initialise(checked));
  }

  /** Reads a model file written by `save`: arch, head, weights, optimiser state and step count. */
  static async load(path: string, options: LoadModelOptions = {}): Promise<Model> {
    expectPath(path, 'path');
    expectOptions(options, 'options', LOAD_OPTION_KEYS);
    const device = expectDevice(options.device);
    const arch = options.arch === undefined ? null : expectArch(options.arch);
    const handle = new (await nativeAsync()).NativeModel();
    try {
      return await Model.settle(handle, handle.load(path, device, arch));
    } catch (error) {
      throw await withStateDictHint(error, path);
    }
  }

  /**
   * A model with the weights of a PyTorch state_dict file (torch.save's zip format): one that
   * `exportStateDict` or the reference definitions in python/sphereface_torch.py wrote, or
   * clcarwin/sphereface_pytorch's sphere20a (with `arch: 'sphere20a'`). See README: PyTorch.
   */
  static async importStateDict(path: string, options: ImportStateDictOptions): Promise<Model> {
    expectPath(path, 'path');
    // The same names as createModel's (the compiler checks none is missing).
    expectOptions<ImportStateDictOptions>(options, 'options', MODEL_OPTION_KEYS);
    const arch = expectArch(options.arch);
    const head = options.head ?? { kind: 'sphere', m: 4 };
    // The options' own errors first, sizes the file will give aside.
    expectModelOptions({ ...options, arch, head, classes: options.classes ?? 2 });
    const file = await StateDictFile.open(path);
    try {
      // Names and shapes first: no tensor's data is read before it fits the arch.
      const tensors = unwrapped(file.entries);
      const model = await Model.create({
        ...options,
        ...sizesInStateDict(tensors, arch, path, options),
        arch,
        head,
      });
      try {
        const sources = matchStateDict(tensors, model.handle.weightShapes(), arch, path);
        const data = await file.read(sources.map((s) => s.tensor));
        await model.handle.setWeights(
          sources.map((s) => s.name),
          sources.map((s, i) => s.values(data[i])),
          path,
        );
        return model;
      } catch (error) {
        model.dispose();
        throw error;
      }
    } finally {
      await file.close();
    }
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

  /** The same/different threshold `verify` uses when given none, as stored with the model. */
  get threshold(): number | undefined {
    return this.#threshold?.value;
  }

  /** How the stored threshold was found (the evaluation's protocol and data). */
  get thresholdProtocol(): string | undefined {
    return this.#threshold?.protocol;
  }

  /**
   * Keeps a verification threshold (cosine of 'concat' features, as `verify` compares them) and
   * the protocol that found it with the model; `save` writes both into the model file.
   */
  setThreshold(value: number, protocol: string): void {
    if (!this.#handle) throw new Error('model is disposed');
    this.#threshold = expectThreshold(value, protocol);
  }

  /** SGD steps taken so far (saved with the model). */
  get steps(): number {
    return this.handle.describe().steps;
  }

  /**
   * Calls queued or running on this model, counting those that hold it across several (embedFiles,
   * verify, a gallery's, an evaluation's, a Trainer's fit()) and saves: 0 when dispose() would free
   * it at once.
   */
  get pending(): number {
    return (this.#handle ? this.#handle.inFlight() : 0) + this.#holders.length + this.#writes;
  }

  get disposed(): boolean {
    return this.#handle === null;
  }

  /**
   * Parameters of the net, plus the head's classes x embeddingDim weight (and the softmax head's
   * bias) unless `head: false`.
   */
  parameterCount(options: { head?: boolean } = {}): number {
    expectOptions(options, 'options', { head: true });
    return this.handle.parameterCount(options.head ?? true);
  }

  /** Multiply-accumulates of the net's forward pass for one image. */
  macsPerImage(): number {
    return this.handle.macsPerImage();
  }

  /** Eval-mode embeddings, n x embeddingDim; `flip` mirrors the images whose byte is nonzero first. */
  async embed(images: Uint8Array, n: number, flip?: Uint8Array): Promise<Float32Array> {
    const count = expectImages(images, n, this.arch);
    const mask = expectFlip(flip, count);
    return this.inCallOrder([images, mask] as const, (pixels, m) =>
      this.handle.embed(pixels, count, m),
    );
  }

  /** One SGD step: forward, fused margin loss, backward, fused momentum/weight-decay update. */
  async trainStep(input: ModelStepInput): Promise<ModelStepResult> {
    const options = expectStepInput(
      input,
      this.head.kind === 'sphere' ? (this.head.lambda ?? 0) : 0,
    );
    const n = expectImages(input.images, input.n, this.arch);
    const labels = expectLabels(input.labels, n, this.classes);
    const mask = expectFlip(input.flip, n);
    return this.inCallOrder([input.images, labels, mask] as const, (pixels, l, m) =>
      this.handle.trainStep(pixels, l, n, m, options),
    );
  }

  /**
   * Joins a distributed run (every rank must hold the same arch, classes and head, or have loaded
   * the same checkpoint): rank 0's weights and optimiser state replace this model's, and every
   * later trainStep trains on the images of every rank's step, averaging the gradients.
   */
  async joinGroup(group: ProcessGroup): Promise<void> {
    const { bucketBytes, overlap } = group.config;
    const handle = ProcessGroup.nativeHandle(group);
    await this.inCallOrder([] as const, () => this.handle.joinGroup(handle, bucketBytes, overlap));
  }

  /** Unit-length embeddings of image files, decoded and cropped to the input size. */
  embedFiles(paths: readonly string[], options?: EmbedFilesOptions): Promise<FileEmbeddings> {
    return embedFiles(this, paths, options);
  }

  /** Cosine similarity of two image files' faces and whether it passes the threshold. */
  verify(a: string, b: string, options?: VerifyOptions): Promise<Verdict> {
    return verify(this, a, b, options);
  }

  /**
   * Writes arch, head, weights, optimiser state (unless `weightsOnly`) and the stored threshold to
   * `path` (temp file + rename).
   */
  async save(path: string, options: SaveModelOptions = {}): Promise<void> {
    expectPath(path, 'path');
    expectOptions(options, 'options', SAVE_OPTION_KEYS);
    const weightsOnly = options.weightsOnly ?? false;
    if (typeof weightsOnly !== 'boolean') {
      throw new TypeError(`Expected a boolean for weightsOnly but received ${String(weightsOnly)}`);
    }
    const threshold = this.#threshold ?? null;
    await this.writing((queued) =>
      replaceAtomically(path, (temp) => queued(this.handle.save(temp, weightsOnly, threshold))),
    );
  }

  /**
   * Writes the net's and the head's weights as a PyTorch state_dict file that torch.load reads
   * (zip format): float32 tensors in the net's layer order, named as python/sphereface_torch.py
   * names them (temp file + rename).
   */
  async exportStateDict(path: string): Promise<void> {
    expectPath(path, 'path');
    await this.writing((queued) =>
      replaceAtomically(path, (temp) => queued(this.handle.exportStateDict(temp))),
    );
  }

  /** Frees the native memory now. Throws while calls are still running; a no-op when disposed. */
  dispose(): void {
    if (!this.#handle) return;
    // A write still checking its path has not reached the native queue yet: it counts too.
    if (this.#writes > 0) {
      throw new Error(
        `dispose() called while ${this.#writes} write(s) of this model are still running; ` +
          'await them first',
      );
    }
    // Between a fit's steps no call runs, but the next step, checkpoint or evaluation needs it.
    if (this.#holders.length > 0) {
      throw new Error(
        `dispose() called while ${this.#holders[0]} is using this model; await it first`,
      );
    }
    this.#handle.dispose();
    this.#handle = null;
  }

  /**
   * Keeps dispose() from freeing the model while `user` (say, "a Trainer's fit()") works with it
   * across several calls; returns the release.
   */
  hold(user: string): () => void {
    this.#holders.push(user);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders.splice(this.#holders.indexOf(user), 1);
    };
  }

  /**
   * Runs a write: `write` checks its path, then hands its native call to `queued` (which passes
   * the call's promise through). Calls made before that wait for it (inCallOrder).
   */
  private async writing(
    write: (queued: (call: Promise<void>) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    this.#writes++;
    const earlier = this.#writeQueued;
    let markQueued!: () => void;
    const queuedNow = new Promise<void>((resolve) => (markQueued = resolve));
    const mine = (this.#writeQueued = earlier ? earlier.then(() => queuedNow) : queuedNow);
    try {
      await earlier;
      await write((call) => {
        markQueued();
        return call;
      });
    } finally {
      markQueued(); // a refused path queues nothing
      if (this.#writeQueued === mine) this.#writeQueued = undefined;
      this.#writes--;
    }
  }

  /**
   * `call(...buffers)` now; or, while a write called earlier checks its path, once the write has
   * queued its native call, with copies of `buffers` taken now: a call's inputs are those at its
   * call, as when the native call takes them at once.
   */
  private inCallOrder<B extends readonly (Uint8Array | Int32Array | null)[], T>(
    buffers: B,
    call: (...buffers: B) => Promise<T>,
  ): Promise<T> {
    const earlier = this.#writeQueued;
    if (!earlier) return call(...buffers);
    const taken = buffers.map((b) => b?.slice() ?? null) as unknown as B;
    return earlier.then(() => call(...taken));
  }
}

/** A PyTorch file given where a model file belongs: the error says how to read it instead. */
async function withStateDictHint(error: unknown, path: string): Promise<unknown> {
  if (!(error instanceof Error && error.message.endsWith('is not a sphereface model file'))) {
    return error;
  }
  const head = new Uint8Array(12);
  const read = await fs
    .open(path)
    .then((file) => file.read(head, 0, head.length, 0).finally(() => file.close()))
    .catch(() => undefined);
  if (!read || !looksLikeTorchFile(head)) return error;
  return new Error(
    `${error.message}: it looks like a PyTorch file; read a state_dict with ` +
      `importStateDict(path, { arch }) or sphereface import --state-dict FILE --arch ARCH`,
  );
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

/** A model with the weights of a PyTorch state_dict file (see Model.importStateDict). */
export function importStateDict(path: string, options: ImportStateDictOptions): Promise<Model> {
  return Model.importStateDict(path, options);
}

/** Reads a model file written by `model.save`. */
export function loadModel(path: string, options?: LoadModelOptions): Promise<Model> {
  return Model.load(path, options);
}

/** Native models not yet disposed (or collected): makes leaks visible. */
export function liveModelCount(): number {
  return native().liveModelCount();
}

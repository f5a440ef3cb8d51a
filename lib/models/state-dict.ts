// How the tensors of a PyTorch state_dict become a model's weights, in one of two layouts:
// - sphereface's own: what exportStateDict writes and python/sphereface_torch.py defines, the
//   model's weight names and shapes as they are;
// - clcarwin/sphereface_pytorch's sphere20a (net_sphere.py): per stage s the stride-2 conv
//   `conv{s}_1` and `relu{s}_1`, then the residual convs numbered on (unit u is conv{s}_{2u},
//   relu{s}_{2u}, conv{s}_{2u+1}, relu{s}_{2u+1}), every conv with a bias; `fc5` the embedding;
//   `fc6` the margin head stored transposed (512 x classes); and BGR input (OpenCV's order), which
//   the first conv's weight takes in RGB once its input channels are swapped.
// A state_dict saved from PyTorch's DataParallel or DistributedDataParallel wrapper, every key
// prefixed 'module.', reads as the module it wraps.
// Names and shapes are matched before any tensor's data is read (StateDictFile reads it after).
import type { NativeWeightShape } from '../native/model-binding';
import type { MarginHead } from '../ops/margin-head';
import { EMBEDDING_DIM } from './defaults';
import type { Arch, DeviceChoice } from './types';

export interface ImportStateDictOptions {
  arch: Arch;
  /**
   * Rows of the margin head. Default: those of the file's head weight; a file without one needs
   * it, and the head then starts freshly initialised. Given, the file's head must have as many.
   */
  classes?: number;
  /**
   * The embedding's size. Default: the rows of the file's embedding layer ('fc.weight'; in
   * clcarwin's layout 'fc5.weight'). Given, the file's must match.
   */
  embeddingDim?: number;
  /** Default { kind: 'sphere', m: 4 }; a softmax head also reads the file's 'head.bias'. */
  head?: MarginHead;
  device?: DeviceChoice; // default 'auto'
  seed?: number; // initialises the head when the file has none
  mean?: number; // preprocessing (x - mean) / std, defaults 127.5 and 128 (as both layouts)
  std?: number;
}

const HEAD = 'head.weight';
const HEAD_BIAS = 'head.bias'; // the softmax head's
const EMBEDDING = 'fc.weight';
const CLCARWIN_FIRST_KEY = 'conv1_1.weight';

/** A state_dict entry as far as matching needs it: its key and shape, not its data. */
export interface DescribedTensor {
  name: string;
  shape: readonly number[];
}
const WRAPPER_PREFIX = 'module.';

interface Layout {
  /** Names the weights' source in errors. */
  what: string;
  /** The file's name and shape for one of the model's weights. */
  keyOf(weight: NativeWeightShape): { name: string; shape: number[] };
  /** The model's weight from the file's tensor of that key. */
  convert(weight: NativeWeightShape, data: Float32Array): Float32Array;
}

function sphereface(arch: Arch): Layout {
  return { what: `a ${arch} (sphereface's layout)`, keyOf: (w) => w, convert: (_, data) => data };
}

function clcarwinName(ours: string): string {
  const stride2 = /^(conv|prelu)(\d)\.(weight|bias)$/.exec(ours);
  if (stride2) return `${stride2[1] === 'conv' ? 'conv' : 'relu'}${stride2[2]}_1.${stride2[3]}`;
  const unit = /^stage(\d)_unit(\d+)\.(conv|prelu)([12])\.(weight|bias)$/.exec(ours);
  if (unit) {
    const index = 2 * Number(unit[2]) + Number(unit[4]) - 1;
    return `${unit[3] === 'conv' ? 'conv' : 'relu'}${unit[1]}_${index}.${unit[5]}`;
  }
  if (ours === 'fc.weight' || ours === 'fc.bias') return `fc5.${ours.slice(3)}`;
  if (ours === HEAD) return 'fc6.weight';
  if (ours === HEAD_BIAS) return 'fc6.bias';
  throw new Error(`sphere20a has a weight '${ours}' that clcarwin's layout does not name`);
}

/** [rows, cols] row-major -> [cols, rows]. */
function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  }
  return out;
}

/** A conv weight [out, 3, kh, kw] with its input channels reversed (BGR <-> RGB). */
function channelsReversed(data: Float32Array, shape: readonly number[]): Float32Array {
  const [out, channels] = shape;
  const plane = data.length / (out * channels);
  const result = new Float32Array(data.length);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < channels; c++) {
      const from = (o * channels + (channels - 1 - c)) * plane;
      result.set(data.subarray(from, from + plane), (o * channels + c) * plane);
    }
  }
  return result;
}

const CLCARWIN: Layout = {
  what: "clcarwin/sphereface_pytorch's sphere20a",
  keyOf(weight) {
    const shape = weight.name === HEAD ? [...weight.shape].reverse() : weight.shape;
    return { name: clcarwinName(weight.name), shape };
  },
  convert(weight, data) {
    if (weight.name === HEAD) return transposed(data, weight.shape[1], weight.shape[0]);
    if (weight.name === 'conv1.weight') return channelsReversed(data, weight.shape);
    return data;
  },
};

function layoutOf(tensors: readonly DescribedTensor[], arch: Arch, file: string): Layout {
  if (!tensors.some((t) => t.name === CLCARWIN_FIRST_KEY)) return sphereface(arch);
  if (arch !== 'sphere20a') {
    throw new Error(
      `${file}: holds clcarwin/sphereface_pytorch's sphere20a (key '${CLCARWIN_FIRST_KEY}'), ` +
        `not a ${arch}: import it with arch 'sphere20a'`,
    );
  }
  return CLCARWIN;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** The file's tensors, without the 'module.' of a DataParallel wrapper's keys. */
export function unwrapped<T extends DescribedTensor>(tensors: readonly T[]): readonly T[] {
  const wrapped = tensors.length > 0 && tensors.every((t) => t.name.startsWith(WRAPPER_PREFIX));
  if (!wrapped) return tensors;
  return tensors.map((t) => ({ ...t, name: t.name.slice(WRAPPER_PREFIX.length) }));
}

/**
 * The sizes of a model built to match the file: the head's rows (an error when it has no head
 * and none are given) and the embedding's size, each as given or else as the file holds them.
 */
export function sizesInStateDict(
  tensors: readonly DescribedTensor[],
  arch: Arch,
  file: string,
  given: { classes?: number; embeddingDim?: number },
): { classes: number; embeddingDim: number } {
  const clcarwin = layoutOf(tensors, arch, file) === CLCARWIN;
  const fcKey = clcarwin ? 'fc5.weight' : EMBEDDING;
  const fc = tensors.find((t) => t.name === fcKey);
  if (!fc) {
    // Keys under another prefix ('backbone.') or of another net: named before any head advice.
    const first = tensors[0]?.name;
    throw new Error(
      `${file}: holds no '${fcKey}', so it is not a ${arch}'s state_dict` +
        (first === undefined ? ' (it holds no tensors)' : ` (its first key: '${first}')`),
    );
  }
  const embeddingDim = given.embeddingDim ?? (fc.shape.length === 2 ? fc.shape[0] : EMBEDDING_DIM);
  if (given.classes !== undefined) return { classes: given.classes, embeddingDim };
  const key = clcarwin ? 'fc6.weight' : HEAD;
  const head = tensors.find((t) => t.name === key);
  if (!head) {
    throw new Error(
      `${file}: holds no margin head ('${key}'); pass { classes } (--classes N) to start a fresh head`,
    );
  }
  const [rows, cols] = clcarwin ? [...head.shape].reverse() : head.shape;
  if (head.shape.length !== 2 || cols !== embeddingDim || !(rows >= 2)) {
    const expected = clcarwin ? `[${embeddingDim}, classes]` : `[classes, ${embeddingDim}]`;
    // The two keys disagree: either may be the wrong one, so both are named.
    const source =
      given.embeddingDim === undefined
        ? `the embedding size of '${fcKey}' of shape ${shapeText(fc.shape)}`
        : 'the embedding size given';
    throw new Error(
      `${file}: key '${key}' has shape ${shapeText(head.shape)}, not ${expected} with classes >= 2 (${source})`,
    );
  }
  return { classes: rows, embeddingDim };
}

/** The index of the first NaN or infinity, or -1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    if (data[i] - data[i] !== 0) return i;
  }
  return -1;
}

/** One of the model's weights, the file's tensor it comes from, and how its data becomes it. */
export interface WeightSource<T> {
  name: string;
  tensor: T;
  /** The weight from the tensor's data: every value finite, in the model's layout. */
  values(data: Float32Array): Float32Array;
}

/**
 * Where each of the model's weights comes from, in the model's order, from the file's keys and
 * shapes alone. Every key of the file must name one of the model's weights with its shape, and
 * every weight must be there (the head may be missing, weight and bias both: it then keeps its
 * fresh initialisation); the first that is not is the error.
 */
export function matchStateDict<T extends DescribedTensor>(
  tensors: readonly T[],
  weights: readonly NativeWeightShape[],
  arch: Arch,
  file: string,
): WeightSource<T>[] {
  const layout = layoutOf(tensors, arch, file);
  const byKey = new Map(weights.map((w) => [layout.keyOf(w).name, w]));
  for (const tensor of tensors) {
    const weight = byKey.get(tensor.name);
    if (!weight) {
      const hint = tensor.name === HEAD_BIAS ? " (a softmax head's: import with that head)" : '';
      throw new Error(`${file}: key '${tensor.name}' is not a weight of ${layout.what}${hint}`);
    }
    const expected = layout.keyOf(weight).shape;
    if (shapeText(tensor.shape) !== shapeText(expected)) {
      throw new Error(
        `${file}: key '${tensor.name}' has shape ${shapeText(tensor.shape)} but ${layout.what} ` +
          `expects ${shapeText(expected)}`,
      );
    }
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const headless = !weights.some((w) => w.name === HEAD && byName.has(layout.keyOf(w).name));
  const sources: WeightSource<T>[] = [];
  for (const weight of weights) {
    const key = layout.keyOf(weight).name;
    const tensor = byName.get(key);
    if (!tensor) {
      if (headless && (weight.name === HEAD || weight.name === HEAD_BIAS)) continue;
      throw new Error(
        `${file}: key '${key}' is missing (${layout.what} has ${weights.length} weights)`,
      );
    }
    const values = (data: Float32Array) => {
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        throw new Error(
          `${file}: key '${key}' holds ${data[bad]} at element ${bad}: weights must be finite`,
        );
      }
      return layout.convert(weight, data);
    };
    sources.push({ name: weight.name, tensor, values });
  }
  return sources;
}

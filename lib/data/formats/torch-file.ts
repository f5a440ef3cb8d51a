// PyTorch state_dicts as torch.save writes them since PyTorch 1.6 (and libtorch's pickler, as
// exportStateDict and torch::pickle_save use it): a zip archive holding `<name>/data.pkl`, a pickle (protocol 2) of a dict of tensors,
// and one member `<name>/data/<key>` per storage with its raw little-endian elements. A tensor is
// pickled as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) where the
// storage is a persistent id ('storage', torch.FloatStorage, key, location, numel).
// libtorch's own reader (pickle_load) cannot read Python's files before 2.x (it has no SETITEM
// and turns OrderedDict into None), hence this one: it resolves only the globals those files use
// and reads float32 tensors of any strides.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  PickleDict,
  PickleGlobal,
  PickleObject,
  PickleTuple,
  typeName,
  unpickle,
  type PickleDialect,
  type PickleValue,
} from './pickle';
import { runOnOwnWorker } from '../../util/worker-pool';
import { ZipArchive } from './zip-archive';

/** One entry of a state_dict: a float32 tensor, its elements contiguous in row-major order. */
export interface StateDictTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface StorageRef {
  dtype: string;
  key: string;
  numel: number;
}

interface TensorRef {
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

// Storage classes by the element type they hold (torch.<Name>Storage).
const STORAGE_DTYPES: Record<string, string> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

// torch.save's legacy (pre-1.6) format starts with a pickled magic number: LONG1 of 10 bytes.
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8];

/** The documented conversion of a legacy file, once, with PyTorch, into a new file beside it. */
export function legacyConversion(file: string): string {
  const stem = file.replace(/\.[^./]*$/, '');
  const converted = `${stem}.pt` === file ? `${stem}-zip.pt` : `${stem}.pt`;
  return (
    `python3 -c "import torch; torch.save(torch.load('${file}', map_location='cpu'), ` +
    `'${converted}')"`
  );
}

function isGlobal(value: PickleValue, module: string, name: string): boolean {
  return value instanceof PickleGlobal && value.module === module && value.name === name;
}

function intsOf(value: PickleValue, what: string, fail: (why: string) => Error): number[] {
  const items = value instanceof PickleTuple ? value.items : undefined;
  if (!items || !items.every((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) {
    throw fail(`expected a tuple of non-negative integers for the tensor's ${what}`);
  }
  return items as number[];
}

const TORCH_DIALECT: PickleDialect = {
  reads: 'a state_dict: dicts of tensors as torch.save writes them',
  extended: true,
  persistentLoad(id, fail) {
    const items = id instanceof PickleTuple ? id.items : [];
    const [tag, type, key, , numel] = items;
    if (
      items.length !== 5 ||
      tag !== 'storage' ||
      !(type instanceof PickleGlobal) ||
      type.module !== 'torch' ||
      typeof key !== 'string' ||
      typeof numel !== 'number'
    ) {
      throw fail("expected a persistent id ('storage', torch.<Type>Storage, key, location, numel)");
    }
    const storage: StorageRef = { dtype: STORAGE_DTYPES[type.name] ?? type.name, key, numel };
    return new PickleObject('a storage', storage);
  },
  reduce(callable, args, fail) {
    const items = args instanceof PickleTuple ? args.items : undefined;
    if (isGlobal(callable, 'collections', 'OrderedDict') && items?.length === 0) {
      return new PickleDict();
    }
    if (isGlobal(callable, 'torch._utils', '_rebuild_tensor_v2') && items && items.length >= 4) {
      const [storage, offset] = items;
      if (!(storage instanceof PickleObject && storage.kind === 'a storage')) {
        throw fail("expected a storage as the tensor's first argument");
      }
      if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
        throw fail("expected a non-negative integer for the tensor's storage offset");
      }
      const tensor: TensorRef = {
        storage: storage.value as StorageRef,
        offset,
        shape: intsOf(items[2], 'size', fail),
        stride: intsOf(items[3], 'stride', fail),
      };
      if (tensor.shape.length !== tensor.stride.length) {
        throw fail("the tensor's size and stride differ in length");
      }
      return new PickleObject('a tensor', tensor);
    }
    // torch.nn.Parameter(data, requires_grad, hooks): the data is what a state_dict keeps.
    if (isGlobal(callable, 'torch._utils', '_rebuild_parameter') && items && items.length >= 1) {
      return items[0];
    }
    // libtorch's pickle_save wraps its dict as restore_type_tag(dict, 'Dict[str, Tensor]').
    if (isGlobal(callable, 'torch.jit._pickle', 'restore_type_tag') && items?.length === 2) {
      return items[0];
    }
    const what = callable instanceof PickleGlobal ? `${callable.module}.${callable.name}` : '';
    throw fail(`calls ${what || typeName(callable)}, which a state_dict of tensors does not`);
  },
  // An OrderedDict's state is its attributes: state_dict() sets `_metadata` (module versions).
  build(target, state, fail) {
    if (!(target instanceof PickleDict && state instanceof PickleDict)) {
      throw fail(`cannot set the state of ${typeName(target)}`);
    }
    return target;
  },
};

async function readWholeFile(file: string): Promise<Uint8Array> {
  const stat = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file} (${e.code ?? e.message})`);
  });
  if (!stat.isFile()) throw new Error(`${file}: not a regular file`);
  try {
    return await fs.readFile(file);
  } catch (e) {
    throw new Error(
      `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/** The element values of `tensor` in row-major order, from its storage's bytes. */
function gather(
  tensor: TensorRef,
  elements: Float32Array,
  name: string,
  file: string,
): Float32Array {
  const { shape, stride, offset } = tensor;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return new Float32Array(0);
  const last = shape.reduce((sum, size, d) => sum + (size - 1) * stride[d], offset);
  if (last >= elements.length) {
    throw new Error(
      `${file}: tensor '${name}' of shape [${shape.join(', ')}] reaches element ${last} of a ` +
        `storage of ${elements.length}`,
    );
  }
  const contiguous = shape.every(
    (size, d) => size === 1 || stride[d] === shape.slice(d + 1).reduce((a, b) => a * b, 1),
  );
  if (contiguous) return elements.slice(offset, offset + numel);
  const out = new Float32Array(numel);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += index[d] * stride[d];
    out[i] = elements[at];
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return out;
}

/**
 * The tensors of a state_dict file written by torch.save (zip format) or libtorch's pickle_save,
 * in the file's order. Every tensor must be float32; errors name the file and the key. Read on a
 * worker thread: the CRC-32s, unpickling and copies of a large model's file take about a second.
 */
export async function readStateDictFile(file: string): Promise<StateDictTensor[]> {
  const [tensors] = await runOnOwnWorker<string, StateDictTensor[]>(
    path.join(__dirname, 'state-dict-worker.js'),
    [file],
    { name: 'readStateDictFile' },
  );
  return tensors;
}

/** readStateDictFile's work, on the thread that calls it. */
export async function parseStateDictFile(file: string): Promise<StateDictTensor[]> {
  const bytes = await readWholeFile(file);
  if (!ZipArchive.looksLikeZip(bytes)) {
    if (LEGACY_MAGIC.every((b, i) => bytes[i] === b)) {
      throw new Error(
        `${file}: a PyTorch file in the legacy format (before PyTorch 1.6, not a zip archive); ` +
          `convert it once with: ${legacyConversion(file)}`,
      );
    }
    throw new Error(
      `${file}: not a PyTorch file (torch.save writes a zip archive since PyTorch 1.6)`,
    );
  }
  const archive = new ZipArchive(bytes, file);
  const pickles = [...archive.members.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new Error(
      `${file}: expected one <name>/data.pkl in the archive but found ${pickles.length}`,
    );
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  const byteOrder = archive.members.has(`${prefix}byteorder`)
    ? Buffer.from(archive.read(`${prefix}byteorder`)).toString('latin1')
    : 'little';
  if (byteOrder !== 'little')
    throw new Error(`${file}: stored ${byteOrder}-endian, not little-endian`);

  const root = unpickle(archive.read(pickles[0]), `${file}: ${pickles[0]}`, TORCH_DIALECT);
  if (!(root instanceof PickleDict)) {
    throw new Error(
      `${file}: expected a state_dict (a dict of tensors) but found ${typeName(root)}`,
    );
  }
  const storages = new Map<string, Float32Array>();
  const seen = new Set<string>();
  const tensors: StateDictTensor[] = [];
  for (const [key, value] of root.items) {
    if (typeof key !== 'string') throw new Error(`${file}: a state_dict key is ${typeName(key)}`);
    if (seen.has(key)) throw new Error(`${file}: key '${key}' appears twice`);
    seen.add(key);
    if (!(value instanceof PickleObject && value.kind === 'a tensor')) {
      throw new Error(`${file}: '${key}' is ${typeName(value)}, not a tensor`);
    }
    const tensor = value.value as TensorRef;
    if (tensor.storage.dtype !== 'float32') {
      throw new Error(
        `${file}: tensor '${key}' holds ${tensor.storage.dtype}, not float32 ` +
          '(save {k: v.float() for k, v in state_dict.items()})',
      );
    }
    let elements = storages.get(tensor.storage.key);
    if (!elements) {
      const member = `${prefix}data/${tensor.storage.key}`;
      const raw = archive.read(member);
      if (raw.length !== tensor.storage.numel * 4) {
        throw new Error(
          `${file}: member '${member}' holds ${raw.length} bytes, not the ${tensor.storage.numel} ` +
            'float32 elements its storage declares',
        );
      }
      elements = new Float32Array(new Uint8Array(raw).buffer); // a copy: aligned, owning its memory
      storages.set(tensor.storage.key, elements);
    }
    tensors.push({ name: key, shape: tensor.shape, data: gather(tensor, elements, key, file) });
  }
  return tensors;
}

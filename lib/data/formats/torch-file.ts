// PyTorch state_dicts as torch.save writes them since PyTorch 1.6 (and libtorch's pickler, as
// exportStateDict and torch::pickle_save use it): a zip archive holding `<name>/data.pkl`, a pickle (protocol 2) of a dict of tensors,
// and one member `<name>/data/<key>` per storage with its raw little-endian elements. A tensor is
// pickled as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) where the
// storage is a persistent id ('storage', torch.FloatStorage, key, location, numel).
// libtorch's own reader (pickle_load) cannot read Python's files before 2.x (it has no SETITEM
// and turns OrderedDict into None), hence this one: it resolves only the globals those files use
// and reads float32 tensors of any strides. The pickle is read first, the tensors' data only when
// asked for: a tensor's shape is known before its elements cost anything.
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
import { WorkerPool } from '../../util/worker-pool';
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

/** Whether `head` (a file's first bytes) starts as a PyTorch file: a zip archive or legacy pickle. */
export function looksLikeTorchFile(head: Uint8Array): boolean {
  return ZipArchive.looksLikeZip(head) || LEGACY_MAGIC.every((b, i) => head[i] === b);
}

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

/** The number of elements of `shape`, or an error naming the tensor when it is past 2^53. */
function elementCount(shape: readonly number[], name: string, file: string): number {
  const numel = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numel)) {
    throw new Error(`${file}: tensor '${name}' of shape [${shape.join(', ')}] is too large`);
  }
  return numel;
}

/** The element values of `tensor` in row-major order, from its storage's elements. */
function gather(
  tensor: TensorRef,
  elements: Float32Array,
  name: string,
  file: string,
): Float32Array {
  const { shape, stride, offset } = tensor;
  const numel = elementCount(shape, name, file);
  const contiguous = shape.every(
    (size, d) => size === 1 || stride[d] === shape.slice(d + 1).reduce((a, b) => a * b, 1),
  );
  if (contiguous) return elements.slice(offset, offset + numel);
  let out: Float32Array;
  try {
    out = new Float32Array(numel);
  } catch {
    throw new Error(
      `${file}: tensor '${name}' of shape [${shape.join(', ')}] has ${numel} elements, ` +
        'more than memory holds',
    );
  }
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < numel; i++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += index[d] * stride[d];
    out[i] = elements[at];
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return out;
}

/** One entry of a state_dict as its pickle describes it, before any of its data is read. */
export interface StateDictEntry {
  name: string;
  shape: number[];
  /** Its place in the file's order: what StateDictFile.read asks for. */
  index: number;
}

/**
 * A state_dict file in memory, its pickle parsed and every tensor checked against its storage
 * (float32, within the storage's elements, the member as large as the storage declares); a
 * tensor's data is copied out only when asked for, so a caller can check names and shapes first
 * (an expanded, stride-0 tensor costs its shape's elements only when read).
 */
export class StateDictArchive {
  /** The storages read so far, their CRC-32s checked, by key. */
  private readonly storages = new Map<string, Float32Array>();

  private constructor(
    private readonly file: string,
    private readonly archive: ZipArchive,
    private readonly prefix: string,
    private readonly tensors: readonly { name: string; tensor: TensorRef }[],
  ) {}

  static async open(file: string): Promise<StateDictArchive> {
    const bytes = await readWholeFile(file);
    if (!ZipArchive.looksLikeZip(bytes)) {
      if (looksLikeTorchFile(bytes)) {
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
    const seen = new Set<string>();
    const tensors: { name: string; tensor: TensorRef }[] = [];
    for (const [key, value] of root.items) {
      if (typeof key !== 'string') throw new Error(`${file}: a state_dict key is ${typeName(key)}`);
      if (seen.has(key)) throw new Error(`${file}: key '${key}' appears twice`);
      seen.add(key);
      if (!(value instanceof PickleObject && value.kind === 'a tensor')) {
        throw new Error(`${file}: '${key}' is ${typeName(value)}, not a tensor`);
      }
      const tensor = value.value as TensorRef;
      checkStorage(tensor, key, archive, prefix, file);
      tensors.push({ name: key, tensor });
    }
    return new StateDictArchive(file, archive, prefix, tensors);
  }

  /** Every entry's name and shape, in the file's order. */
  get entries(): StateDictEntry[] {
    return this.tensors.map(({ name, tensor }, index) => ({ name, shape: tensor.shape, index }));
  }

  /** The data of the entry at `index`, its elements contiguous in row-major order. */
  read(index: number): Float32Array {
    const entry = this.tensors[index];
    if (!entry) throw new Error(`${this.file}: the state_dict has no entry ${index}`);
    const { name, tensor } = entry;
    return gather(tensor, this.storage(tensor.storage.key), name, this.file);
  }

  private storage(key: string): Float32Array {
    let elements = this.storages.get(key);
    if (!elements) {
      const raw = this.archive.read(`${this.prefix}data/${key}`);
      // torch.save aligns each member to 64 bytes: a view then, else an aligned copy.
      elements =
        raw.byteOffset % 4 === 0
          ? new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4)
          : new Float32Array(new Uint8Array(raw).buffer);
      this.storages.set(key, elements);
    }
    return elements;
  }
}

/** A tensor's dtype, and its reach within a storage member of the size the storage declares. */
function checkStorage(
  tensor: TensorRef,
  key: string,
  archive: ZipArchive,
  prefix: string,
  file: string,
): void {
  const { storage, shape, stride, offset } = tensor;
  if (storage.dtype !== 'float32') {
    throw new Error(
      `${file}: tensor '${key}' holds ${storage.dtype}, not float32 ` +
        '(save {k: v.float() for k, v in state_dict.items()})',
    );
  }
  const name = `${prefix}data/${storage.key}`;
  const member = archive.members.get(name);
  if (!member) throw new Error(`${file}: the archive has no member '${name}'`);
  if (member.size !== storage.numel * 4) {
    throw new Error(
      `${file}: member '${name}' holds ${member.size} bytes, not the ${storage.numel} ` +
        'float32 elements its storage declares',
    );
  }
  if (elementCount(shape, key, file) === 0) return;
  const last = shape.reduce((sum, size, d) => sum + (size - 1) * stride[d], offset);
  if (last >= storage.numel) {
    throw new Error(
      `${file}: tensor '${key}' of shape [${shape.join(', ')}] reaches element ${last} of a ` +
        `storage of ${storage.numel}`,
    );
  }
}

/** What the state-dict worker does: open a file, or read entries of the file it has open. */
export type StateDictTask = { open: string } | { read: number[] };

/**
 * A state_dict file open on a worker thread of its own (the CRC-32s, unpickling and copies of a
 * large model's file take about a second): its entries' names and shapes at once, their data
 * when read. Close it when done: the worker holds the file's bytes.
 */
export class StateDictFile {
  private constructor(
    private readonly pool: WorkerPool<StateDictTask, StateDictEntry[] | Float32Array[]>,
    readonly entries: readonly StateDictEntry[],
  ) {}

  /** Errors name the file, and the key where one is at fault. */
  static async open(file: string): Promise<StateDictFile> {
    const pool = new WorkerPool<StateDictTask, StateDictEntry[] | Float32Array[]>(
      path.join(__dirname, 'state-dict-worker.js'),
      { name: 'readStateDictFile', threads: 1 },
    );
    try {
      return new StateDictFile(pool, (await ask(pool, { open: file })) as StateDictEntry[]);
    } catch (error) {
      await pool.close();
      throw error;
    }
  }

  /** The data of `entries`, each contiguous in row-major order. */
  async read(entries: readonly StateDictEntry[]): Promise<Float32Array[]> {
    return (await ask(this.pool, { read: entries.map((e) => e.index) })) as Float32Array[];
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

async function ask<R>(pool: WorkerPool<StateDictTask, R>, task: StateDictTask): Promise<R> {
  let answer: R | undefined;
  await pool.run([task], (_, result) => (answer = result));
  return answer as R;
}

/**
 * The tensors of a state_dict file written by torch.save (zip format) or libtorch's pickle_save,
 * in the file's order. Every tensor must be float32; errors name the file and the key.
 */
export async function readStateDictFile(file: string): Promise<StateDictTensor[]> {
  const opened = await StateDictFile.open(file);
  try {
    const data = await opened.read(opened.entries);
    return opened.entries.map(({ name, shape }, i) => ({ name, shape, data: data[i] }));
  } finally {
    await opened.close();
  }
}

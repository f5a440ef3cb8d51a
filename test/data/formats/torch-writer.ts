// Hand-built state_dict files as torch.save lays them out (a zip of `archive/data.pkl`, a
// protocol-2 pickle of a dict of _rebuild_tensor_v2 calls, and one member per float32 storage),
// for tensors of any shape, strides and offset: views PyTorch would make, and ones it would not.
import * as zlib from 'node:zlib';
import { ZipArchive } from '../../../lib/data/formats/zip-archive';

export interface TensorSpec {
  name: string;
  /** The key of its storage (a member `archive/data/<key>`). */
  storage: string;
  offset?: number;
  shape: number[];
  stride: number[];
}

const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const latin1 = (text: string) => Array.from(Buffer.from(text, 'latin1'));

function unicode(text: string): number[] {
  const utf8 = Array.from(Buffer.from(text, 'utf8'));
  return [0x58, ...u32(utf8.length), ...utf8]; // BINUNICODE
}

const binint = (n: number) => [0x4a, ...u32(n)]; // BININT (32-bit)
const tuple = (ints: number[]) => [0x28, ...ints.flatMap(binint), 0x74]; // MARK ... TUPLE

function pickle(tensors: TensorSpec[], storages: Record<string, Float32Array>): Uint8Array {
  const out = [0x80, 2, 0x7d, 0x28]; // PROTO 2, EMPTY_DICT, MARK
  for (const t of tensors) {
    out.push(...unicode(t.name), 0x63, ...latin1('torch._utils\n_rebuild_tensor_v2\n'), 0x28);
    // The persistent id ('storage', torch.FloatStorage, key, location, numel), BINPERSID.
    out.push(0x28, ...unicode('storage'), 0x63, ...latin1('torch\nFloatStorage\n'));
    out.push(...unicode(t.storage), ...unicode('cpu'), ...binint(storages[t.storage].length));
    out.push(0x74, 0x51, ...binint(t.offset ?? 0), ...tuple(t.shape), ...tuple(t.stride));
    out.push(0x89, 0x74, 0x52); // requires_grad False, TUPLE, REDUCE
  }
  out.push(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(out);
}

/** A zip archive of stored members, each one's data 64-byte aligned as torch.save aligns it. */
function zip(members: [string, Uint8Array][]): Buffer {
  const parts: Buffer[] = [];
  const central: number[] = [];
  let length = 0;
  const push = (bytes: Uint8Array | number[]) => {
    parts.push(Buffer.from(bytes));
    length += bytes.length;
  };
  for (const [name, data] of members) {
    const nameBytes = Array.from(Buffer.from(name, 'utf8'));
    const local = length;
    const padding = (64 - ((local + 30 + nameBytes.length + 4) % 64)) % 64;
    const crc = zlib.crc32(data);
    const sizes = [...u32(crc), ...u32(data.length), ...u32(data.length)];
    const header = [...u32(0x04034b50), ...u16(20), 0, 0, 0, 0, 0, 0, 0, 0, ...sizes];
    header.push(...u16(nameBytes.length), ...u16(4 + padding), ...nameBytes);
    header.push(...u16(0x4b46), ...u16(padding), ...new Array<number>(padding).fill(0));
    push(header);
    push(data);
    central.push(...u32(0x02014b50), ...u16(20), ...u16(20), 0, 0, 0, 0, 0, 0, 0, 0, ...sizes);
    central.push(...u16(nameBytes.length), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...u32(local));
    central.push(...nameBytes);
  }
  const start = length;
  const count = u16(members.length);
  push(central);
  push([
    ...u32(0x06054b50),
    0,
    0,
    0,
    0,
    ...count,
    ...count,
    ...u32(central.length),
    ...u32(start),
    0,
    0,
  ]);
  return Buffer.concat(parts);
}

/** The bytes of a .pt file holding `tensors` over `storages` (float32 elements by key). */
export function stateDictBytes(
  tensors: TensorSpec[],
  storages: Record<string, Float32Array>,
): Buffer {
  const members: [string, Uint8Array][] = [['archive/data.pkl', pickle(tensors, storages)]];
  for (const [key, elements] of Object.entries(storages)) {
    members.push([
      `archive/data/${key}`,
      new Uint8Array(elements.buffer, elements.byteOffset, elements.byteLength),
    ]);
  }
  return zip(members);
}

/** The strides of a contiguous (row-major) tensor of `shape`. */
export function rowMajor(shape: readonly number[]): number[] {
  return shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
}

/** `bytes` with the first byte of member `name`'s data changed (its CRC-32 no longer matches). */
export function corrupted(bytes: Buffer, name: string): Buffer {
  const member = new ZipArchive(bytes, 'corrupted').members.get(name);
  if (!member) throw new Error(`no member ${name}`);
  const changed = Buffer.from(bytes);
  changed[member.offset] ^= 0x40;
  return changed;
}

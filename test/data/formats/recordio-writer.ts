// A RecordIO writer made from the format's description (dmlc-core's RecordIOWriter and mxnet's
// recordio.pack), for tests only: it shares no code with the reader under test.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/** The magic word 0xced7230a as it lies in the file (little-endian). */
export const MAGIC_BYTES = [0x0a, 0x23, 0xd7, 0xce];

function word(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function part(cflag: number, data: number[]): number[] {
  const lrec = ((cflag << 29) | data.length) >>> 0;
  const pad = (4 - (data.length % 4)) % 4;
  return [...MAGIC_BYTES, ...word(lrec), ...data, ...new Array<number>(pad).fill(0)];
}

/**
 * One record: the payload cut at every 4-aligned offset holding the magic word (which is
 * dropped), the pieces written as parts with flags 1 (first), 2 (middle), 3 (last), or a single
 * part with flag 0 when there is no cut.
 */
export function recordBytes(payload: Uint8Array): number[] {
  const bytes = Array.from(payload);
  const pieces: number[][] = [];
  let from = 0;
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    if (MAGIC_BYTES.every((m, k) => bytes[i + k] === m)) {
      pieces.push(bytes.slice(from, i));
      from = i + 4;
    }
  }
  pieces.push(bytes.slice(from));
  if (pieces.length === 1) return part(0, pieces[0]);
  return pieces.flatMap((p, k) => part(k === 0 ? 1 : k === pieces.length - 1 ? 3 : 2, p));
}

export interface HeaderSpec {
  label?: number;
  /** When given, flag = labels.length and the labels follow the header (label is then 0). */
  labels?: number[];
  id?: number;
  id2?: number;
}

/** An image record's payload: IRHeader (uint32 flag, float32 label, uint64 id, id2), labels, image. */
export function irPayload(header: HeaderSpec, image: Uint8Array): Uint8Array {
  const labels = header.labels ?? [];
  const out = Buffer.alloc(24 + 4 * labels.length + image.length);
  out.writeUInt32LE(labels.length, 0);
  out.writeFloatLE(header.labels ? 0 : (header.label ?? 0), 4);
  out.writeBigUInt64LE(BigInt(header.id ?? 0), 8);
  out.writeBigUInt64LE(BigInt(header.id2 ?? 0), 16);
  labels.forEach((l, i) => out.writeFloatLE(l, 24 + 4 * i));
  out.set(image, 24 + 4 * labels.length);
  return new Uint8Array(out);
}

export interface WrittenRec {
  rec: string;
  idx: string;
  /** Byte offset of each record. */
  offsets: number[];
}

/**
 * Writes dir/train.rec with the records in order and dir/train.idx (`key\toffset`, key i for
 * record i, or `keys[i]`) as mxnet's MXIndexedRecordIO.write_idx does; `property` when given.
 */
export async function writeRec(
  dir: string,
  payloads: Uint8Array[],
  options: { keys?: number[]; property?: string; idx?: boolean } = {},
): Promise<WrittenRec> {
  const offsets: number[] = [];
  const bytes: number[] = [];
  for (const p of payloads) {
    offsets.push(bytes.length);
    for (const b of recordBytes(p)) bytes.push(b);
  }
  const rec = path.join(dir, 'train.rec');
  const idx = path.join(dir, 'train.idx');
  await fs.writeFile(rec, Uint8Array.from(bytes));
  if (options.idx !== false) {
    const keys = options.keys ?? offsets.map((_, i) => i);
    await fs.writeFile(idx, offsets.map((o, i) => `${keys[i]}\t${o}\n`).join(''));
  }
  if (options.property !== undefined) {
    await fs.writeFile(path.join(dir, 'property'), options.property);
  }
  return { rec, idx, offsets };
}

/**
 * insightface's layout: record 0 whose labels [n + 1, n + 1 + classes] give the image keys
 * 1..n, then the images, then one record per identity holding its image range [a, b).
 */
export function insightfacePayloads(images: { label: number; bytes: Uint8Array }[]): Uint8Array[] {
  const n = images.length;
  const classes = Math.max(...images.map((i) => i.label)) + 1;
  const out = [irPayload({ labels: [n + 1, n + 1 + classes] }, new Uint8Array(0))];
  for (const image of images) out.push(irPayload({ label: image.label }, image.bytes));
  for (let c = 0; c < classes; c++) {
    const keys = images.flatMap((image, i) => (image.label === c ? [i + 1] : []));
    const range = keys.length ? [keys[0], keys[keys.length - 1] + 1] : [0, 0];
    out.push(irPayload({ labels: range }, new Uint8Array(0)));
  }
  return out;
}

// insightface's training sets (faces_webface_112x112, faces_emore, ...) as an ImageSource:
// train.rec + train.idx (+ property), read the way insightface's MXFaceDataset
// (recognition/arcface_torch/dataset.py) reads them:
// - record 0's header: when its flag is > 0, its first label L says the images are the records
//   with keys 1..L-1 (the records after them describe identities and are not images);
//   otherwise every key of the index is an image, in index order;
// - an image's class is its header's label (the first label when it has several);
// - `property` beside the .rec holds `classes,height,width`.
// Without a .idx the .rec is scanned once from the start and record i gets key i (the order in
// which insightface's packing scripts write keys).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ImageSource, SourceImage } from '../store/image-source';
import { MAX_CLASSES } from '../types';
import { readRegularFile } from '../../util/regular-file';
import { classLabel, irHeaderBytes, parseIRHeader, type IRHeader } from './ir-header';
import { BlockReader, RecordIOFile, readRecord } from './recordio';
import { RecordIOIndex } from './recordio-index';
import { expectPath } from '../../util/expect';
import { expectOptions } from '../../util/option-keys';

export interface RecordIOSourceOptions {
  /** The index; default: the .rec's path ending in .idx instead (scanned without one). */
  idx?: string;
  /** Called while the image headers are read at open, with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** insightface's `property` file: the number of classes and the image size. */
export interface RecordIOProperty {
  classes: number;
  height: number;
  width: number;
}

/** Enough bytes for the header of an image record with up to 10 labels. */
const HEADER_PREFIX = 64;

async function readHeader(reader: BlockReader, offset: number, key: number): Promise<IRHeader> {
  const name = `key ${key}`;
  let r = await readRecord(reader, offset, { limit: HEADER_PREFIX, name });
  if (r.payload.length >= 4) {
    const flag = new DataView(r.payload.buffer, r.payload.byteOffset).getUint32(0, true);
    const need = irHeaderBytes(flag);
    if (need > r.payload.length && need <= r.length) {
      r = await readRecord(reader, offset, { limit: need, name });
    }
  }
  return parseIRHeader(r.payload, where(reader.fileName, key, offset), r.length);
}

function where(file: string, key: number, offset: number): string {
  return `${file}: record key ${key} at offset ${offset}`;
}

async function statOrNull(file: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    const s = await fs.stat(file);
    return { size: s.size, mtimeMs: Math.round(s.mtimeMs) };
  } catch {
    return null;
  }
}

async function readProperty(file: string): Promise<RecordIOProperty | undefined> {
  let text: string;
  try {
    text = (await readRegularFile(file)).toString('latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const fields = text.trim().split(',');
  if (fields.length !== 3 || !fields.every((f) => /^\d+$/.test(f.trim()) && Number(f) > 0)) {
    throw new Error(
      `${file}: expected 'classes,height,width' (e.g. '10572,112,112') but found '${text.trim().slice(0, 80)}'`,
    );
  }
  const [classes, height, width] = fields.map(Number);
  if (classes > MAX_CLASSES) {
    throw new Error(`${file}: ${classes} classes is more than ${MAX_CLASSES}`);
  }
  return { classes, height, width };
}

/** The image records' keys: MXFaceDataset's imgidx. */
async function imageKeys(rec: RecordIOFile, index: RecordIOIndex): Promise<readonly number[]> {
  const offset0 = index.offsetOf(0);
  if (offset0 === undefined) {
    throw new Error(`${index.file}: no record with key 0, which holds the image range`);
  }
  const header0 = await readHeader(rec.reader(64 << 10), offset0, 0);
  if (header0.flag === 0) return index.keys;
  const where0 = where(rec.file, 0, offset0);
  if (header0.flag < 2) {
    throw new Error(
      `${where0}: the header has 1 label where the image range needs 2 (first identity record, end of identity records)`,
    );
  }
  const end = header0.labels![0];
  if (!Number.isInteger(end) || end < 1 || end > index.length) {
    throw new Error(
      `${where0}: the header says the images are keys 1..${end - 1}, which ${index.length} records cannot hold`,
    );
  }
  return Array.from({ length: end - 1 }, (_, i) => i + 1);
}

/** The images of an insightface .rec: an ImageSource. */
export class RecordIOSource implements ImageSource {
  readonly kind = 'recordio';

  private constructor(
    private readonly rec: RecordIOFile,
    private readonly idxFile: string | undefined,
    private readonly propertyFile: string,
    readonly keys: readonly number[],
    private readonly offsets: Float64Array,
    readonly labels: Int32Array,
    readonly classNames: readonly string[],
    /** The `property` file's content, when there is one. */
    readonly property: RecordIOProperty | undefined,
  ) {}

  get location(): string {
    return this.rec.file;
  }

  get length(): number {
    return this.keys.length;
  }

  static async open(recPath: string, options: RecordIOSourceOptions = {}): Promise<RecordIOSource> {
    const location = path.resolve(expectPath(recPath, 'recPath', 'a .rec file path'));
    expectOptions<RecordIOSourceOptions>(options, 'options', { idx: true, onProgress: true });
    if (options.idx !== undefined) expectPath(options.idx, 'idx', 'a .idx file path');
    const rec = await RecordIOFile.open(location);
    try {
      const idxFile = path.resolve(
        options.idx ?? path.join(path.dirname(location), `${path.parse(location).name}.idx`),
      );
      const hasIdx = (await statOrNull(idxFile)) !== null;
      if (!hasIdx && options.idx !== undefined) {
        throw new Error(`RecordIO index ${idxFile} does not exist`);
      }
      const index = hasIdx
        ? await RecordIOIndex.read(idxFile, location, rec.size)
        : RecordIOIndex.sequential(await rec.scanOffsets(), location);
      if (index.length === 0) throw new Error(`${index.file}: no records`);
      const keys = await imageKeys(rec, index);
      if (keys.length === 0) throw new Error(`${location}: no image records`);
      const offsets = new Float64Array(keys.length);
      keys.forEach((key, i) => {
        const offset = index.offsetOf(key);
        if (offset === undefined) {
          throw new Error(`${index.file}: no record with key ${key}, one of the images`);
        }
        offsets[i] = offset;
      });
      const labels = await readLabels(rec, keys, offsets, options.onProgress);
      const propertyFile = path.join(path.dirname(location), 'property');
      const property = await readProperty(propertyFile);
      let maxAt = 0;
      for (let i = 1; i < labels.length; i++) if (labels[i] > labels[maxAt]) maxAt = i;
      const classes = property?.classes ?? labels[maxAt] + 1;
      const at = where(location, keys[maxAt], offsets[maxAt]);
      if (property && labels[maxAt] >= classes) {
        throw new Error(
          `${at}: label ${labels[maxAt]} is not below the ${classes} classes of ${propertyFile}`,
        );
      }
      // Labels number identities 0..C-1, each with images: a larger one is a damaged record,
      // which must not cost an array of millions of class names.
      if (!property && classes > keys.length) {
        throw new Error(
          `${at}: label ${labels[maxAt]} is not below the ${keys.length} images; without a property file (classes,height,width) the classes are the labels 0..max`,
        );
      }
      const classNames = Array.from({ length: classes }, (_, c) => String(c));
      return new RecordIOSource(
        rec,
        hasIdx ? idxFile : undefined,
        propertyFile,
        keys,
        offsets,
        labels,
        classNames,
        property,
      );
    } catch (err) {
      await rec.close();
      throw err;
    }
  }

  async fingerprint(): Promise<unknown> {
    return {
      kind: this.kind,
      rec: { path: this.rec.file, ...(await statOrNull(this.rec.file)) },
      idx: this.idxFile ? { path: this.idxFile, ...(await statOrNull(this.idxFile)) } : null,
      property: await statOrNull(this.propertyFile),
    };
  }

  async read(start: number, end: number): Promise<SourceImage[]> {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end) {
      throw new RangeError(
        `RecordIOSource.read: expected integers 0 <= start <= end but received ${start}, ${end}`,
      );
    }
    if (end > this.length) {
      throw new RangeError(
        `RecordIOSource.read: end ${end} is past the ${this.length} images of ${this.location}`,
      );
    }
    const order = inOffsetOrder(this.offsets, start, end);
    const span = order.length ? this.offsets[order[order.length - 1]] - this.offsets[order[0]] : 0;
    const reader = this.rec.reader(Math.min(4 << 20, Math.max(64 << 10, span + (64 << 10))));
    const out = new Array<SourceImage>(end - start);
    for (const i of order) {
      const key = this.keys[i];
      const offset = this.offsets[i];
      const at = where(this.location, key, offset);
      const { payload } = await readRecord(reader, offset, { name: `key ${key}` });
      const header = parseIRHeader(payload, at);
      const label = classLabel(header, at);
      if (label !== this.labels[i]) {
        throw new Error(`${at}: the label is ${label}, not ${this.labels[i]}: the file changed`);
      }
      out[i - start] = {
        name: `${this.location}#${key}`,
        label,
        bytes: payload.subarray(header.dataOffset),
      };
    }
    return out;
  }

  close(): Promise<void> {
    return this.rec.close();
  }
}

/** Indices start..end-1 sorted by file offset, so reads sweep the file forwards. */
function inOffsetOrder(offsets: Float64Array, start: number, end: number): Uint32Array {
  const order = Uint32Array.from({ length: end - start }, (_, i) => start + i);
  for (let j = 1; j < order.length; j++) {
    if (offsets[order[j]] < offsets[order[j - 1]]) {
      return order.sort((a, b) => offsets[a] - offsets[b]);
    }
  }
  return order;
}

async function readLabels(
  rec: RecordIOFile,
  keys: readonly number[],
  offsets: Float64Array,
  onProgress?: (done: number, total: number) => void,
): Promise<Int32Array> {
  const labels = new Int32Array(keys.length);
  const reader = rec.reader(4 << 20);
  const order = inOffsetOrder(offsets, 0, keys.length);
  const every = Math.max(1, Math.floor(keys.length / 100));
  for (let j = 0; j < order.length; j++) {
    const i = order[j];
    const header = await readHeader(reader, offsets[i], keys[i]);
    labels[i] = classLabel(header, where(rec.file, keys[i], offsets[i]));
    if (onProgress && ((j + 1) % every === 0 || j + 1 === order.length)) {
      onProgress(j + 1, order.length);
    }
  }
  return labels;
}

/**
 * Opens insightface's `train.rec` (with `train.idx` and `property` beside it) as an ImageSource
 * whose labels are the records' labels and whose class names are the label numbers.
 */
export function recordIOSource(
  recPath: string,
  options: RecordIOSourceOptions = {},
): Promise<RecordIOSource> {
  return RecordIOSource.open(recPath, options);
}

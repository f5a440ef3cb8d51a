// dmlc-core's RecordIO container (mxnet's and insightface's .rec files), read with async
// positioned reads so that memory never holds more than the records asked for.
//
// A record is one or more parts, each written as
//   uint32 magic 0xced7230a | uint32 lrec | payload bytes | zero padding to a multiple of 4
// with lrec = cflag << 29 | length (little-endian words). cflag 0 is a whole record; a payload
// holding the magic word at an offset that is a multiple of 4 is cut there by the writer (so a
// reader resynchronising on the magic never mistakes data for a header): parts with cflag
// 1 (first), 2 (middle), 3 (last), and the reader joins them, putting the magic word back
// between consecutive parts. The writer refuses records of 2^29 bytes or more.
import type * as fs from 'node:fs/promises';
import { openRegularFile } from '../../util/regular-file';

export const RECORDIO_MAGIC = 0xced7230a;
/** dmlc's RecordIOWriter accepts records below 2^29 bytes, the width of the length field. */
export const MAX_RECORD_BYTES = 2 ** 29 - 1;
const PART_HEADER_BYTES = 8;

const align4 = (n: number) => Math.ceil(n / 4) * 4;
const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

/**
 * Serves byte ranges of a file from one cached block, so reading many small records that lie
 * close together costs one read per block rather than two per record. A returned view is valid
 * until the next call.
 */
export class BlockReader {
  private block = new Uint8Array(0);
  private start = 0;
  private end = 0;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly fileName: string,
    readonly size: number,
    readonly blockBytes = 1 << 20,
  ) {}

  /** Bytes pos..pos+n-1; the caller has checked that they lie inside the file. */
  async bytes(pos: number, n: number): Promise<Uint8Array> {
    if (pos >= this.start && pos + n <= this.end) {
      return this.block.subarray(pos - this.start, pos - this.start + n);
    }
    const want = Math.min(Math.max(n, this.blockBytes), this.size - pos);
    if (this.block.length < want) this.block = new Uint8Array(Math.max(want, this.blockBytes));
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.handle.read(this.block, got, want - got, pos + got);
      if (bytesRead === 0) {
        this.end = this.start; // nothing cached survives a failed read
        throw new Error(
          `${this.fileName}: the file ends at offset ${pos + got} but was ${this.size} bytes when opened`,
        );
      }
      got += bytesRead;
    }
    this.start = pos;
    this.end = pos + want;
    return this.block.subarray(0, n);
  }
}

export interface ReadRecordOptions {
  /** Copy at most this many payload bytes (the rest is skipped); default: the whole record. */
  limit?: number;
  /** How error messages name the record besides its offset, e.g. 'key 17'. */
  name?: string;
}

export interface RecordRead {
  /** The payload (or its first `limit` bytes), parts joined; owned by the caller. */
  payload: Uint8Array;
  /** Length of the whole payload (more than payload.length when `limit` cut it). */
  length: number;
  /** Offset of the record that follows. */
  next: number;
}

/**
 * Reads the record at `offset` as dmlc-core's RecordIOReader does, with every length checked
 * against the file before anything is allocated: a bad magic word, a continuation flag out of
 * sequence, a part running past the end of the file or a record over the format's 2^29-byte
 * limit is an error naming the file, the record and the offset.
 */
export async function readRecord(
  reader: BlockReader,
  offset: number,
  options: ReadRecordOptions = {},
): Promise<RecordRead> {
  const limit = options.limit ?? MAX_RECORD_BYTES;
  const record = `record ${options.name ? `${options.name} ` : ''}at offset ${offset}`;
  const fail = (why: string) => new Error(`${reader.fileName}: ${record}: ${why}`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset >= reader.size) {
    throw fail(`the offset is past the end of the file (${reader.size} bytes)`);
  }
  const parts: Uint8Array[] = [];
  let kept = 0; // payload bytes copied into parts
  let total = 0; // payload bytes of the whole record
  const keep = (bytes: Uint8Array) => {
    const n = Math.min(bytes.length, limit - kept);
    if (n > 0) {
      parts.push(bytes.slice(0, n));
      kept += n;
    }
  };
  let pos = offset;
  for (let first = true; ; first = false) {
    if (pos + PART_HEADER_BYTES > reader.size) {
      throw fail(
        `the file ends at offset ${reader.size}, inside the header of the part at offset ${pos}`,
      );
    }
    const head = await reader.bytes(pos, PART_HEADER_BYTES);
    const view = new DataView(head.buffer, head.byteOffset, PART_HEADER_BYTES);
    const magic = view.getUint32(0, true);
    const lrec = view.getUint32(4, true);
    if (magic !== RECORDIO_MAGIC) {
      throw fail(
        `expected the RecordIO magic word ${hex(RECORDIO_MAGIC)} at offset ${pos} but found ${hex(magic)}`,
      );
    }
    const cflag = lrec >>> 29;
    const length = lrec & MAX_RECORD_BYTES;
    const expected = first ? [0, 1] : [2, 3];
    if (!expected.includes(cflag)) {
      throw fail(
        `the part at offset ${pos} has continuation flag ${cflag} where ${first ? 'a whole record (0) or a first part (1)' : 'a middle (2) or last (3) part'} was expected`,
      );
    }
    const dataStart = pos + PART_HEADER_BYTES;
    if (dataStart + align4(length) > reader.size) {
      throw fail(
        `the part at offset ${pos} declares ${length} bytes, past the end of the file (${reader.size} bytes)`,
      );
    }
    total += length;
    if (total > MAX_RECORD_BYTES) {
      throw fail(`the record's parts add up to more than ${MAX_RECORD_BYTES} bytes`);
    }
    const want = Math.min(length, limit - kept);
    if (want > 0) keep(await reader.bytes(dataStart, want));
    pos = dataStart + align4(length);
    if (cflag === 0 || cflag === 3) break;
    // The writer cut the payload at a magic word: it belongs between this part and the next.
    const magicBytes = new Uint8Array(4);
    new DataView(magicBytes.buffer).setUint32(0, RECORDIO_MAGIC, true);
    keep(magicBytes);
    total += 4;
  }
  const payload = parts.length === 1 ? parts[0] : concat(parts, kept);
  return { payload, length: total, next: pos };
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** An open .rec file: its size fixed when opened, read by positioned reads. */
export class RecordIOFile {
  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
    readonly size: number,
  ) {}

  static async open(file: string): Promise<RecordIOFile> {
    const { handle, size } = await openRegularFile(file, { noun: 'RecordIO file' });
    return new RecordIOFile(file, handle, size);
  }

  /** A reader caching blocks of `blockBytes`: one per sequence of reads (not shared). */
  reader(blockBytes?: number): BlockReader {
    return new BlockReader(this.handle, this.file, this.size, blockBytes);
  }

  /**
   * Walks the file from its start and returns every record's offset: the index a missing .idx
   * would have given (reads the whole file once). The file must end exactly after a record.
   */
  async scanOffsets(): Promise<number[]> {
    const reader = this.reader(4 << 20);
    const offsets: number[] = [];
    for (let pos = 0; pos < this.size;) {
      offsets.push(pos);
      pos = (await readRecord(reader, pos, { limit: 0, name: `${offsets.length - 1}` })).next;
    }
    return offsets;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

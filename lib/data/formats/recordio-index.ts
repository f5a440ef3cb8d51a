// The .idx beside a .rec: one line `key<TAB>offset` per record, as mxnet's MXIndexedRecordIO
// writes and reads it (keys in file order; a key maps to the byte offset of its record).
import { openRegularFile } from '../../util/regular-file';

/** Two 20-digit numbers and a tab fit many times over. */
const MAX_LINE = 256;

export class RecordIOIndex {
  private dense: boolean;
  private sorted?: { keys: Float64Array; order: Uint32Array };

  /** keys[i] is at offsets[i]; `file` names the index in errors. */
  constructor(
    readonly keys: readonly number[],
    readonly offsets: readonly number[],
    readonly file: string,
  ) {
    this.dense = keys.every((k, i) => k === i);
    if (!this.dense) {
      const order = Uint32Array.from(keys, (_, i) => i).sort((a, b) => keys[a] - keys[b]);
      const sortedKeys = Float64Array.from(order, (i) => keys[i]);
      for (let j = 1; j < sortedKeys.length; j++) {
        if (sortedKeys[j] === sortedKeys[j - 1]) {
          const [a, b] = [order[j - 1], order[j]].sort((x, y) => x - y);
          throw new Error(
            `${file}:${b + 1}: key ${keys[b]} appears again (first on line ${a + 1})`,
          );
        }
      }
      this.sorted = { keys: sortedKeys, order };
    }
  }

  get length(): number {
    return this.keys.length;
  }

  /** The offset of `key`'s record, or undefined when the index has no such key. */
  offsetOf(key: number): number | undefined {
    if (this.dense) return key >= 0 && key < this.keys.length ? this.offsets[key] : undefined;
    const { keys, order } = this.sorted!;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo < keys.length && keys[lo] === key ? this.offsets[order[lo]] : undefined;
  }

  /** Records 0..n-1 at the given offsets: the index of a .rec scanned without its .idx. */
  static sequential(offsets: number[], file: string): RecordIOIndex {
    return new RecordIOIndex(
      offsets.map((_, i) => i),
      offsets,
      file,
    );
  }

  /**
   * Reads an .idx in chunks (memory grows with the number of records, not with the file: a line
   * longer than any index line is an error). Every offset must lie inside the .rec (`recSize`
   * bytes, named `recFile` in errors).
   */
  static async read(file: string, recFile: string, recSize: number): Promise<RecordIOIndex> {
    const keys: number[] = [];
    const offsets: number[] = [];
    let line = 0;
    const parse = (text: string) => {
      line++;
      // MXIndexedRecordIO: line.strip().split('\t'), then int() of the first two fields.
      const fields = text.trim().split('\t');
      const [key, offset] = fields.map((f) => (/^\d+$/.test(f.trim()) ? Number(f) : NaN));
      if (fields.length < 2 || !Number.isSafeInteger(key) || !Number.isSafeInteger(offset)) {
        throw new Error(
          `${file}:${line}: expected 'key<TAB>offset' (two non-negative integers) but found '${text.slice(0, 80)}'`,
        );
      }
      if (offset >= recSize) {
        throw new Error(
          `${file}:${line}: the offset ${offset} of key ${key} is past the end of ${recFile} (${recSize} bytes)`,
        );
      }
      keys.push(key);
      offsets.push(offset);
    };
    const { handle } = await openRegularFile(file, { noun: 'RecordIO index' });
    const stream = handle.createReadStream({ encoding: 'latin1', highWaterMark: 1 << 20 });
    let pending = '';
    try {
      for await (const chunk of stream as AsyncIterable<string>) {
        const parts = (pending + chunk).split('\n');
        pending = parts.pop()!;
        for (const text of parts) parse(text);
        if (pending.length > MAX_LINE) {
          throw new Error(
            `${file}:${line + 1}: a line longer than ${MAX_LINE} characters: not a RecordIO index`,
          );
        }
      }
      if (pending.trim() !== '') parse(pending);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code) throw new Error(`cannot read the RecordIO index ${file} (${code})`);
      throw err;
    } finally {
      stream.destroy();
    }
    return new RecordIOIndex(keys, offsets, file);
  }
}

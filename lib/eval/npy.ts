// NumPy .npy (format version 1.0) writer for float32 arrays, so `numpy.load` reads embeddings.
// Layout: magic "\x93NUMPY", version 1 0, uint16 LE header length, an ASCII Python dict literal
// padded with spaces and ending in '\n' so the data starts on a 64-byte boundary, then the data
// little-endian in C order.
import { writeFileAtomic } from '../util/atomic-write';

export function encodeNpy(data: Float32Array, shape: readonly number[]): Buffer {
  if (!(data instanceof Float32Array)) throw new TypeError('Expected Float32Array for data');
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`Expected non-negative integer dimensions for shape but received [${shape}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new Error(`Expected shape [${shape}] to hold data.length = ${data.length} values`);
  }
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${dims}, }`;
  const preamble = 10; // magic (6) + version (2) + header length (2)
  const padded = Math.ceil((preamble + header.length + 1) / 64) * 64;
  header = header.padEnd(padded - preamble - 1, ' ') + '\n';
  if (header.length > 0xffff) throw new Error('Shape too long for an .npy v1.0 header');

  const out = Buffer.alloc(preamble + header.length + data.length * 4);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, preamble, 'latin1');
  const body = preamble + header.length;
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], body + 4 * i);
  return out;
}

/** Writes an .npy file atomically (temp file + rename). */
export function writeNpy(
  file: string,
  data: Float32Array,
  shape: readonly number[],
): Promise<void> {
  return writeFileAtomic(file, encodeNpy(data, shape));
}

// The tensors of a model file, read here from the layout native/train/model_file.h documents
// (magic, header, then name / dims / float32 data per tensor), so tests can compare weights
// without going through the code under test.
import * as fs from 'node:fs';

export interface ModelFileContents {
  steps: number;
  tensors: Map<string, Float32Array>;
}

export function readModelFileTensors(file: string): ModelFileContents {
  const bytes = fs.readFileSync(file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const u32 = () => ((at += 4), view.getUint32(at - 4, true));
  const i64 = () => ((at += 8), Number(view.getBigInt64(at - 8, true)));
  const string = () => {
    const length = u32();
    at += length;
    return bytes.subarray(at - length, at).toString('utf8');
  };
  if (bytes.subarray(0, 7).toString('latin1') !== 'SPHFACE') throw new Error(`${file}: no magic`);
  at = 8;
  const version = u32();
  string(); // arch
  i64(); // classes
  if (version >= 2) i64(); // embedding dim
  u32(); // head kind
  at += 3 * 8; // m, scale, lambda
  if (version >= 2) at += 1; // easy margin
  at += 2 * 8; // mean, std
  const steps = i64();
  const tensors = new Map<string, Float32Array>();
  for (let count = u32(), t = 0; t < count; t++) {
    const name = string();
    let numel = 1;
    for (let ndim = u32(), d = 0; d < ndim; d++) numel *= i64();
    const data = new Float32Array(numel);
    for (let i = 0; i < numel; i++) data[i] = view.getFloat32(at + 4 * i, true);
    at += 4 * numel;
    tensors.set(name, data);
  }
  return { steps, tensors };
}

/**
 * Throws unless `actual` holds the tensors of `expected` bit for bit, naming the first tensor
 * that differs (chai's deep equality would take minutes over millions of elements).
 */
export function expectSameTensors(actual: ModelFileContents, expected: ModelFileContents): void {
  const names = [...expected.tensors.keys()];
  if ([...actual.tensors.keys()].join() !== names.join()) {
    throw new Error(`tensors ${[...actual.tensors.keys()].join()} instead of ${names.join()}`);
  }
  for (const name of names) {
    const a = actual.tensors.get(name)!;
    const e = expected.tensors.get(name)!;
    const same =
      a.length === e.length &&
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
        Buffer.from(e.buffer, e.byteOffset, e.byteLength),
      );
    if (!same) {
      let worst = 0;
      for (let i = 0; i < Math.min(a.length, e.length); i++) {
        worst = Math.max(worst, Math.abs(a[i] - e[i]));
      }
      throw new Error(`${name} differs (largest difference ${worst}, ${a.length} elements)`);
    }
  }
}

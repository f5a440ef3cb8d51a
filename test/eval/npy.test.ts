import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeNpy, writeNpy } from '../../lib/eval/npy';

describe('npy writer', () => {
  const data = Float32Array.from([1.5, -2, 3.25, 0, 1e-8, 7]);

  it('writes the v1.0 magic, an aligned header dict and little-endian float32 data', () => {
    const buf = encodeNpy(data, [2, 3]);
    expect([...buf.subarray(0, 8)]).to.deep.equal([0x93, 78, 85, 77, 80, 89, 1, 0]);
    const headerLength = buf[8] + 256 * buf[9];
    expect((10 + headerLength) % 64).to.equal(0);
    const header = buf.subarray(10, 10 + headerLength).toString('latin1');
    expect(header.endsWith('\n')).to.equal(true);
    expect(header.trim()).to.equal("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }");
    expect(buf.length).to.equal(10 + headerLength + 4 * data.length);
    const view = new DataView(buf.buffer, buf.byteOffset + 10 + headerLength);
    for (let i = 0; i < data.length; i++) expect(view.getFloat32(4 * i, true)).to.equal(data[i]);
  });

  it('writes a one-dimensional shape as a Python 1-tuple', () => {
    const header = encodeNpy(data, [6]).toString('latin1', 10, 74);
    expect(header).to.contain("'shape': (6,)");
  });

  it('round-trips through numpy when python3 has it', function () {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npy-')), 'a.npy');
    fs.writeFileSync(file, encodeNpy(data, [3, 2]));
    const script = [
      'import sys, json',
      'try:\n  import numpy\nexcept ImportError:\n  print("null"); sys.exit(0)',
      'a = numpy.load(sys.argv[1])',
      'print(json.dumps([a.dtype.str, list(a.shape), a.ravel().tolist()]))',
    ].join('\n');
    let out: string;
    try {
      out = execFileSync('python3', ['-c', script, file]).toString();
    } catch {
      return this.skip(); // no python3
    }
    const parsed = JSON.parse(out) as [string, number[], number[]] | null;
    if (parsed === null) return this.skip(); // python3 without numpy
    const [dtype, shape, values] = parsed;
    expect(dtype).to.equal('<f4');
    expect(shape).to.deep.equal([3, 2]);
    expect(values).to.deep.equal([...data]);
  });

  it('writes the file atomically, leaving no temporary file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'npy-'));
    const file = path.join(dir, 'e.npy');
    fs.writeFileSync(file, 'old');
    await writeNpy(file, data, [6]);
    expect(fs.readFileSync(file).equals(encodeNpy(data, [6]))).to.equal(true);
    expect(fs.readdirSync(dir)).to.deep.equal(['e.npy']);
  });

  it('rejects a shape that does not hold the data', () => {
    expect(() => encodeNpy(data, [4, 2])).to.throw(/shape \[4,2\]/);
    expect(() => encodeNpy(data, [-6])).to.throw(/dimensions/);
  });
});

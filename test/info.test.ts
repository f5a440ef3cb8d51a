import { expect } from 'chai';
import * as os from 'node:os';
import { info, setNumThreads } from '../lib';

describe('info', () => {
  it('reports the libtorch version, its origin and the loaded BLAS', () => {
    const about = info();
    expect(about.torch.version).to.match(/^\d+\.\d+\.\d+/);
    expect(about.torch.source).to.be.a('string').with.length.greaterThan(0);
    expect(about.blas).to.be.a('string');
    expect(about.cuda.devices).to.be.an('array');
  });

  it("says where device 'auto' trains and how the loss runs there", () => {
    const { cuda } = info();
    // Never a device the build cannot train on: CUDA only when libtorch sees a GPU, and then
    // the loss has a kernel for it (its own, or the CPU one on copies).
    expect(cuda.autoDevice).to.equal(cuda.available ? 'cuda' : 'cpu');
    const expected = !cuda.available
      ? 'none'
      : cuda.kernels
        ? 'cuda-kernel'
        : 'cpu-kernel-on-copies';
    expect(cuda.loss).to.equal(expected);
  });

  it('defaults to one intra-op thread per available core', () => {
    expect(info().threads).to.equal(os.availableParallelism());
  });

  it('sets the thread count and rejects a non-positive one naming the argument', () => {
    setNumThreads(1);
    expect(info().threads).to.equal(1);
    setNumThreads(os.availableParallelism());
    expect(() => setNumThreads(0)).to.throw(RangeError, /threads/);
    expect(() => setNumThreads(1.5)).to.throw(RangeError, /threads/);
  });

  it('refuses thread counts past 1024 before libtorch sees them, and non-numbers', () => {
    const before = info().threads;
    // 1e9 would make libgomp allocate per-thread state until the process aborts; 1e20 and 2^31
    // do not fit the native int.
    for (const huge of [1025, 2 ** 31, 1e9, 1e20]) {
      expect(() => setNumThreads(huge), String(huge)).to.throw(
        RangeError,
        `Expected an integer in 1..1024 for threads but received ${huge} of type number`,
      );
    }
    expect(() => setNumThreads('2' as unknown as number)).to.throw(
      TypeError,
      "Expected an integer in 1..1024 for threads but received '2'",
    );
    expect(info().threads).to.equal(before);
  });
});

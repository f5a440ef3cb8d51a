// Where a run meets: torchrun's variables, the options that override them, and errors that
// name the variable or option that is wrong.
import { expect } from 'chai';
import {
  DEFAULT_BUCKET_BYTES,
  DEFAULT_DIST_TIMEOUT_MS,
  distributedByEnv,
  resolveDistributedOptions,
} from '../../lib/dist/distributed-options';

describe('distributed options', () => {
  const env = {
    RANK: '1',
    WORLD_SIZE: '4',
    LOCAL_RANK: '0',
    MASTER_ADDR: '10.0.0.2',
    MASTER_PORT: '1234',
  };

  it("read torchrun's variables, with defaults for the rest", () => {
    expect(resolveDistributedOptions({}, env)).to.deep.equal({
      rank: 1,
      worldSize: 4,
      localRank: 0,
      masterAddr: '10.0.0.2',
      masterPort: 1234,
      timeoutMs: DEFAULT_DIST_TIMEOUT_MS,
      backend: 'auto',
      bucketBytes: DEFAULT_BUCKET_BYTES,
      overlap: true,
    });
    expect(DEFAULT_DIST_TIMEOUT_MS).to.equal(300_000);
    const bare = resolveDistributedOptions({}, { RANK: '0', WORLD_SIZE: '2' });
    expect(bare).to.include({ localRank: 0, masterAddr: '127.0.0.1', masterPort: 29500 });
  });

  it('let the options given in code win over the environment', () => {
    const config = resolveDistributedOptions({ rank: 3, masterPort: 999, timeoutMs: 10 }, env);
    expect(config).to.include({ rank: 3, worldSize: 4, masterPort: 999, timeoutMs: 10 });
  });

  it('name the variable or option that is missing or wrong', () => {
    expect(() => resolveDistributedOptions({}, { RANK: '0' })).to.throw(/WORLD_SIZE is not set/);
    expect(() => resolveDistributedOptions({}, { ...env, RANK: 'one' })).to.throw(
      /integer in RANK \("one"\)/,
    );
    expect(() => resolveDistributedOptions({}, { ...env, RANK: '4' })).to.throw(
      /rank \(RANK\) must be in 0\.\.3/,
    );
    expect(() => resolveDistributedOptions({}, { ...env, MASTER_PORT: '70000' })).to.throw(
      /MASTER_PORT\) must be in 1\.\.65535/,
    );
    expect(() => resolveDistributedOptions({ timeoutMs: 0 }, env)).to.throw(/timeoutMs/);
    expect(() => resolveDistributedOptions({ worldSize: 0 }, env)).to.throw(/at least 1/);
  });

  it('make a process a worker only when WORLD_SIZE is above 1', () => {
    expect(distributedByEnv({})).to.equal(false);
    expect(distributedByEnv({ WORLD_SIZE: '1', RANK: '0' })).to.equal(false);
    expect(distributedByEnv({ WORLD_SIZE: '2', RANK: '0' })).to.equal(true);
  });
});

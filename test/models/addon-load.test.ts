import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import * as path from 'node:path';

// The first native call of a process maps libtorch's libraries: a blocking load of 0.5-1 s that a
// server's event loop must not wait out. In a fresh process, a 1 ms timer finds the longest wait
// between its turns while the first model is created (async); loading the addon the blocking way
// (native()) in another sets the scale.
const lib = path.resolve(__dirname, '..', '..', 'lib');

function firstLoad(how: 'createModel' | 'native()'): { elapsedMs: number; longestWaitMs: number } {
  const script = `
    const { createModel } = require(${JSON.stringify(lib)});
    const { native } = require(${JSON.stringify(path.join(lib, 'native'))});
    let last = 0;
    let longestWaitMs = 0;
    const timer = setInterval(() => {
      longestWaitMs = Math.max(longestWaitMs, performance.now() - last);
      last = performance.now();
    }, 1);
    setTimeout(async () => {
      const started = performance.now();
      last = started;
      longestWaitMs = 0;
      if (${JSON.stringify(how)} === 'native()') native();
      else (await createModel({ arch: 'sphere-cnn4', classes: 2, head: { kind: 'sphere', m: 4 }, seed: 1 })).dispose();
      await new Promise((resolve) => setTimeout(resolve, 2));
      clearInterval(timer);
      console.log(JSON.stringify({ elapsedMs: performance.now() - started, longestWaitMs }));
    }, 20);
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  expect(child.status, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as { elapsedMs: number; longestWaitMs: number };
}

describe('the addon', function () {
  this.timeout(240_000);

  it("loads for the first model without blocking the event loop (a worker maps libtorch's libraries)", function () {
    const blocking = firstLoad('native()');
    // Libraries cached so well that the load takes no time cannot show it.
    if (blocking.longestWaitMs < 100) this.skip();
    const created = firstLoad('createModel');
    expect(created.longestWaitMs, JSON.stringify({ blocking, created })).to.be.below(
      blocking.longestWaitMs / 4,
    );
  });
});

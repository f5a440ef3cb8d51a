// loadModel on damaged model files (fast-check, in a child process): each gives a model or an
// Error naming the file, never a crash. Forged headers with a recomputed checksum are the
// native model-file tests' concern; these are accidental damage: flips, cuts, inserted bytes.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { runs } from './property';

describe('loadModel under damaged files (fast-check)', function () {
  this.timeout(900_000);

  it(`refuses or loads each of ${runs(40)} damaged files, naming the file, without a crash`, () => {
    const child = spawnSync(
      process.execPath,
      [path.join(__dirname, 'load-model-child.js'), String(runs(40))],
      { encoding: 'utf8', env: { ...process.env, SPHEREFACE_NUM_THREADS: '2' } },
    );
    expect(child.signal, child.stderr).to.equal(null);
    expect(child.status, child.stderr).to.equal(0);
    const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as {
      cases: number;
      loaded: number;
      refused: number;
    };
    expect(result.loaded + result.refused).to.equal(runs(40));
    expect(result.refused).to.be.above(0);
  });
});

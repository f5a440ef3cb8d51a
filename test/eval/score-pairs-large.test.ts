import { expect } from 'chai';
import type { VerificationPair } from '../../lib/data/types';
import { resolveProtocol } from '../../lib/eval/protocol';
import { scorePairsOffThread } from '../../lib/eval/score-pairs';

// Raw-pixel features of LFW (12,000 images of 112 x 112 x 3, mirrors appended) take 7 GB: the
// scoring worker must see all of them. Node cuts a typed array of 4 GiB or more to its length
// modulo 2^32 when it crosses to a worker.
describe('scoring features of 4 GiB and more', () => {
  it('scores every pair from features past the 4 GiB mark, on the worker', async () => {
    const dim = 2 ** 27 + 3; // four rows: 2^32 + 96 bytes
    const features = new Float64Array(4 * dim); // untouched pages cost no memory
    const set = (row: number, k: number, v: number) => (features[row * dim + k] = v);
    set(0, 0, 1);
    set(1, 0, 1);
    set(1, dim - 1, 1);
    set(2, dim - 1, 3);
    set(3, 5, 2);
    set(3, dim - 1, 2); // the buffer's last value
    const pair = (a: number, b: number, same: boolean, fold: number): VerificationPair => ({
      a,
      b,
      same,
      fold,
      line: 0,
    });
    const pairs = [
      pair(0, 1, true, 0),
      pair(0, 2, false, 0),
      pair(2, 3, true, 1),
      pair(0, 3, false, 1),
      pair(1, 3, true, 1),
    ];
    const { scores } = await scorePairsOffThread({
      features,
      dim,
      pairs,
      protocol: resolveProtocol({ flip: 'none' }),
      afs: { definition: 'paper', normalize: true },
    });
    // Hand-worked cosines of the rows above.
    const expected = [Math.SQRT1_2, 0, Math.SQRT1_2, 0, 0.5];
    expect(scores).to.have.length(pairs.length);
    scores.forEach((s, i) => expect(s, `pair ${i}`).to.be.closeTo(expected[i], 1e-15));
  });
});

import { expect } from 'chai';
import { angularFisherScore } from '../../lib/eval/angular-fisher-score';
import { seededUniform } from './helpers';

describe('angular Fisher score', () => {
  // Class 0: (1, 0), (0, 1), mean (.5, .5), each at cos 1/sqrt(2) from it.
  // Class 1: (-1, 0), (-2, 0), mean (-1.5, 0), both at cos 1.
  // Overall mean (-.5, .25): cos to class 0's mean = -1/sqrt(10), to class 1's = 2/sqrt(5).
  const features = Float64Array.from([1, 0, 0, 1, -1, 0, -2, 0]);
  const labels = [0, 0, 1, 1];
  const sb = 2 * (1 + 1 / Math.sqrt(10)) + 2 * (1 - 2 / Math.sqrt(5));

  it("matches a hand computation with the seed's n_i weight on S_w", () => {
    const sw = 2 * 2 * (1 - 1 / Math.SQRT2); // n_0 * two samples' (1 - cos)
    const r = angularFisherScore(features, labels, 2, { definition: 'seed', normalize: false });
    expect(r.withinScatter).to.be.closeTo(sw, 1e-12);
    expect(r.betweenScatter).to.be.closeTo(sb, 1e-12);
    expect(r.afs).to.be.closeTo(sw / sb, 1e-12);
    expect(r.classes).to.equal(2);
  });

  it("matches a hand computation with the paper's unweighted S_w", () => {
    const r = angularFisherScore(Float32Array.from(features), Int32Array.from(labels), 2, {
      definition: 'paper',
      normalize: false,
    });
    expect(r.afs).to.be.closeTo((2 * (1 - 1 / Math.SQRT2)) / sb, 1e-7);
  });

  it("defaults to the paper's S_w over unit-length features (hand computation)", () => {
    // Normalised, class 1 is (-1, 0) twice: mean (-1, 0), both at cos 1. The overall mean is
    // (-.25, .25): at cos 0 from class 0's mean (.5, .5) and cos 1/sqrt(2) from class 1's.
    const sw = 2 * (1 - 1 / Math.SQRT2);
    const sbUnit = 2 * 1 + 2 * (1 - 1 / Math.SQRT2);
    const r = angularFisherScore(features, labels, 2);
    expect([r.definition, r.normalized]).to.deep.equal(['paper', true]);
    expect(r.withinScatter).to.be.closeTo(sw, 1e-12);
    expect(r.betweenScatter).to.be.closeTo(sbUnit, 1e-12);
    expect(r.afs).to.be.closeTo(sw / sbUnit, 1e-12);
  });

  it('is lower for tighter classes and unchanged by a rotation and a global scale', () => {
    const rand = seededUniform(5);
    const dim = 8;
    const centres = Array.from({ length: 4 }, () =>
      Array.from({ length: dim }, () => rand() - 0.5),
    );
    const make = (spread: number) => {
      const f = new Float64Array(40 * dim);
      const l = new Int32Array(40);
      for (let j = 0; j < 40; j++) {
        l[j] = j % 4;
        for (let k = 0; k < dim; k++) f[j * dim + k] = centres[l[j]][k] + spread * (rand() - 0.5);
      }
      return { f, l };
    };
    const tight = make(0.05);
    const loose = make(0.5);
    const afsTight = angularFisherScore(tight.f, tight.l, dim).afs;
    expect(afsTight).to.be.lessThan(angularFisherScore(loose.f, loose.l, dim).afs);
    // Rotate in the (0, 1) plane and scale by 3: every cosine, hence the score, is unchanged.
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const moved = tight.f.map((v, idx) => {
      const j = Math.floor(idx / dim);
      const k = idx % dim;
      const x = tight.f[j * dim];
      const y = tight.f[j * dim + 1];
      return 3 * (k === 0 ? c * x - s * y : k === 1 ? s * x + c * y : v);
    });
    expect(angularFisherScore(moved, tight.l, dim).afs).to.be.closeTo(afsTight, 1e-12);
  });

  it('rejects a single class and a length mismatch, naming the argument', () => {
    expect(() => angularFisherScore(features, [0, 0, 0, 0], 2)).to.throw(/at least 2 classes/);
    expect(() => angularFisherScore(features, [0, 1, 0], 2)).to.throw(/features of length/);
    expect(() => angularFisherScore(features, labels, 0)).to.throw(RangeError, /dim/);
    const nan = Float64Array.from(features);
    nan[5] = NaN;
    expect(() => angularFisherScore(nan, labels, 2)).to.throw(
      RangeError,
      'Expected finite features but features[5] (row 2) is NaN',
    );
  });
});

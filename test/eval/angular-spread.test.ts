import { expect } from 'chai';
import { angularSpread } from '../../lib/eval/angular-spread';

const rad = (deg: number) => (deg * Math.PI) / 180;

describe('angularSpread', () => {
  it('measures hand-placed 2-D features: angles to the class centre and between centres', () => {
    // Class 0 at 0° +- 10°, class 1 at 90° +- 20°, class 2 at 200° (one feature); lengths vary,
    // which must not matter.
    const at = (deg: number, length: number) => [
      length * Math.cos(rad(deg)),
      length * Math.sin(rad(deg)),
    ];
    const features = [at(-10, 1), at(10, 3), at(70, 2), at(110, 0.5), at(200, 4)].flat();
    const spread = angularSpread(features, [0, 0, 1, 1, 2], 2);
    expect(spread.classes).to.equal(3);
    expect(spread.meanWithin).to.be.closeTo((10 + 10 + 20 + 20 + 0) / 5, 1e-9);
    expect(spread.maxWithin).to.be.closeTo(20, 1e-9);
    // Centres at 0°, 90° and 200°: the nearest two are 90° apart.
    expect(spread.minBetween).to.be.closeTo(90, 1e-9);
  });

  it('works in 3-D with classes on the axes', () => {
    const features = [1, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, -1];
    const spread = angularSpread(features, [0, 1, 2, 3], 3);
    expect([spread.meanWithin, spread.maxWithin]).to.deep.equal([0, 0]);
    expect(spread.minBetween).to.be.closeTo(90, 1e-9);
  });

  it('refuses mismatched sizes, a zero feature and a single class', () => {
    expect(() => angularSpread([1, 0, 0], [0, 1], 2)).to.throw(/2 x 2 features but received 3/);
    expect(() => angularSpread([1, 0, 0, 0], [0, 1], 2)).to.throw(/row 1 is 0/);
    expect(() => angularSpread([1, 0, 0, 1], [0, 0], 2)).to.throw(/at least 2 classes/);
  });
});

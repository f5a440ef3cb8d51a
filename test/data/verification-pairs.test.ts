import { expect } from 'chai';
import { makeVerificationPairs, type MakePairsOptions } from '../../lib/data/verification-pairs';

describe('makeVerificationPairs', () => {
  // 60 identities with 2..6 images each, in shuffled order.
  const labels: number[] = [];
  for (let id = 0; id < 60; id++) for (let j = 0; j < 2 + (id % 5); j++) labels.push(id);
  labels.reverse();

  it('makes folds of half same then half different pairs over disjoint identities', () => {
    const pairs = makeVerificationPairs(labels, { folds: 10, pairsPerFold: 20, seed: 3 });
    expect(pairs).to.have.length(200);
    const idsOfFold = new Map<number, Set<number>>();
    pairs.forEach((p, i) => {
      expect(p.fold).to.equal(Math.floor(i / 20));
      expect(p.same).to.equal(i % 20 < 10);
      expect(p.line).to.equal(i + 1);
      expect(p.a).to.not.equal(p.b);
      expect(labels[p.a] === labels[p.b]).to.equal(p.same);
      const ids = idsOfFold.get(p.fold) ?? new Set<number>();
      ids.add(labels[p.a]).add(labels[p.b]);
      idsOfFold.set(p.fold, ids);
    });
    const all = [...idsOfFold.values()].flatMap((s) => [...s]);
    expect(new Set(all).size).to.equal(all.length); // no identity in two folds
    const keys = pairs.map((p) => [Math.min(p.a, p.b), Math.max(p.a, p.b)].join());
    expect(new Set(keys).size).to.equal(keys.length); // no pair twice
  });

  it('draws from an identity of 20,000 images (200 M pairs) without listing its pairs', () => {
    const big: number[] = [];
    for (let j = 0; j < 20000; j++) big.push(0);
    for (let id = 1; id <= 40; id++) for (let j = 0; j < 6; j++) big.push(id);
    const pairs = makeVerificationPairs(big, { folds: 2, pairsPerFold: 600, seed: 2 });
    expect(pairs).to.have.length(1200);
    const keys = pairs.map((p) => [Math.min(p.a, p.b), Math.max(p.a, p.b)].join());
    expect(new Set(keys).size, 'no pair twice').to.equal(keys.length);
    for (const p of pairs) expect(big[p.a] === big[p.b]).to.equal(p.same);
    // Its fold's 300 matched pairs go one per identity a round: with 20 others of 15 pairs each,
    // 14 rounds give 294 and the 15th the rest, so it gives 14 or 15.
    const fromBig = pairs.filter((p) => p.same && big[p.a] === 0);
    expect(fromBig.length).to.be.within(14, 15);
    // Drawn over all its images, not the first few: the images are nearly all distinct and span
    // the range.
    const images = fromBig.flatMap((p) => [p.a, p.b]);
    expect(new Set(images).size).to.be.above(0.9 * images.length);
    expect(Math.max(...images) - Math.min(...images)).to.be.above(15000);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = makeVerificationPairs(labels, { pairsPerFold: 8, seed: 5 });
    expect(makeVerificationPairs(labels, { pairsPerFold: 8, seed: 5 })).to.deep.equal(a);
    expect(makeVerificationPairs(labels, { pairsPerFold: 8, seed: 6 })).to.not.deep.equal(a);
  });

  it('says when the identities cannot supply enough same pairs', () => {
    expect(() => makeVerificationPairs(labels, { pairsPerFold: 600 })).to.throw(
      /fewer than the 300 needed/,
    );
    expect(() => makeVerificationPairs(labels.slice(0, 30), { folds: 10 })).to.throw(
      /at least 20 identities/,
    );
    expect(() => makeVerificationPairs(labels, { pairsPerFold: 7 })).to.throw(
      RangeError,
      /pairsPerFold/,
    );
  });

  it('advises what fixes each shortage: folds or identities, or pairs per fold', () => {
    // 12 identities cannot fill 10 folds of 2: fewer pairs per fold would not help.
    const twelve = labels.filter((id) => id < 12);
    expect(() => makeVerificationPairs(twelve, {})).to.throw(
      RangeError,
      /^10 folds need at least 20 identities \(2 per fold\) but there are 12; use fewer folds or a set with more identities$/,
    );
    expect(() => makeVerificationPairs(labels, { pairsPerFold: 600 })).to.throw(
      /; use fewer pairsPerFold, fewer folds, or more images per identity$/,
    );
  });

  it('quotes a numeric string so the error does not read as refusing a valid value', () => {
    const loose = (options: unknown) => () =>
      makeVerificationPairs(labels, options as MakePairsOptions);
    expect(loose({ folds: '5' })).to.throw(
      TypeError,
      /^Expected an integer >= 2 for folds but received '5'$/,
    );
    expect(loose({ folds: 1 })).to.throw(RangeError, /for folds but received 1 of type number$/);
    expect(loose({ pairsPerFold: '8' })).to.throw(TypeError, /for pairsPerFold but received '8'$/);
    expect(loose({ seed: -1 })).to.throw(RangeError, /for seed but received -1 of type number$/);
    expect(() => makeVerificationPairs(['1', '2'] as unknown as number[])).to.throw(
      TypeError,
      /^Expected an integer for labels\[0\] but received '1'$/,
    );
    expect(() => makeVerificationPairs(undefined as unknown as number[])).to.throw(
      TypeError,
      /for labels but received a value of type undefined$/,
    );
  });
});

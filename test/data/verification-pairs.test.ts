import { expect } from 'chai';
import { makeVerificationPairs } from '../../lib/data/verification-pairs';

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
});

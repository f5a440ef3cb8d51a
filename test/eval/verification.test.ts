import { expect } from 'chai';
import type { VerificationPair } from '../../lib/data/types';
import { bestThreshold, kFoldVerification, tenFoldVerification } from '../../lib/eval/verification';
import { seededUniform } from './helpers';

function pairsFrom(same: boolean[], foldOf: (i: number) => number): VerificationPair[] {
  return same.map((s, i) => ({ a: 2 * i, b: 2 * i + 1, same: s, fold: foldOf(i), line: i + 2 }));
}

// Independent reference: folds taken from positions (fold k = pairs perFold*k .. perFold*(k+1)-1,
// as pairs.txt lines are), every candidate threshold checked by a plain O(N) count.
function bruteForce(
  scores: number[],
  same: boolean[],
  perFold: number,
  candidatesFor: (train: number[]) => number[],
) {
  const folds = scores.length / perFold;
  const acc = (idx: number[], t: number) =>
    idx.filter((i) => (same[i] && scores[i] > t) || (!same[i] && scores[i] < t)).length /
    idx.length;
  const out: { accuracy: number; threshold: number }[] = [];
  for (let k = 0; k < folds; k++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      (Math.floor(i / perFold) === k ? test : train).push(i);
    }
    const cands = candidatesFor(train.map((i) => scores[i]));
    const accs = cands.map((t) => acc(train, t));
    const best = Math.max(...accs);
    const winners = cands.filter((_, j) => accs[j] === best);
    const threshold = winners.reduce((a, b) => a + b, 0) / winners.length;
    out.push({ accuracy: acc(test, threshold), threshold });
  }
  return out;
}

const gridOf = (steps: number) => () =>
  Array.from({ length: 2 * steps + 1 }, (_, j) => (j - steps) / steps);
const midpointsOf = (train: number[]) => {
  const d = [...new Set(train)].sort((a, b) => a - b);
  const m = [d[0] - 1];
  for (let i = 1; i < d.length; i++) m.push((d[i - 1] + d[i]) / 2);
  m.push(d[d.length - 1] + 1);
  return m;
};

describe('ten-fold verification', () => {
  // Worked by hand in the comments: fold 0 = pairs 0-3, fold 1 = pairs 4-7.
  const scores = [0.9, 0.6, 0.2, 0.5, 0.8, 0.35, 0.1, 0.4];
  const same = [true, true, false, false, true, true, false, false];
  const pairs = pairsFrom(same, (i) => (i < 4 ? 0 : 1));

  it('picks the mean of all best grid thresholds on the other folds (hand-worked)', () => {
    // Testing fold 0, fold 1 trains: 3/4 correct at t = 0.2, 0.3, 0.5, 0.6, 0.7 -> t = 0.46,
    // which gets 0.9, 0.6 (same) and 0.2 (different) right and 0.5 wrong on fold 0.
    // Testing fold 1, fold 0 trains: 3/4 at t = 0.3 .. 0.8 (4/4 needs 0.5 < t < 0.6, off the
    // grid) -> t = 0.55, which gets 0.8, 0.1, 0.4 right and 0.35 wrong.
    const r = tenFoldVerification(scores, pairs, { threshold: { steps: 10 } });
    expect(r.folds.map((f) => f.fold)).to.deep.equal([0, 1]);
    expect(r.folds[0].threshold).to.be.closeTo(0.46, 1e-12);
    expect(r.folds[1].threshold).to.be.closeTo(0.55, 1e-12);
    expect(r.folds.map((f) => f.accuracy)).to.deep.equal([0.75, 0.75]);
    expect(r.folds.map((f) => f.trainAccuracy)).to.deep.equal([0.75, 0.75]);
    expect(r.meanAccuracy).to.equal(0.75);
    expect(r.stdAccuracy).to.equal(0);
    expect(r.meanThreshold).to.be.closeTo(0.505, 1e-12);
  });

  it('picks midpoints between distinct training scores when asked (hand-worked)', () => {
    // Fold 1 trains (candidates -0.9, 0.225, 0.375, 0.6, 1.8): 0.225 and 0.6 reach 3/4 (0.375
    // misses both 0.35 and 0.4) -> t = 0.4125; fold 0 then misses only 0.5.
    // Fold 0 trains: only 0.55 reaches 4/4; fold 1 then misses 0.35.
    const r = tenFoldVerification(scores, pairs, { threshold: { candidates: 'midpoints' } });
    expect(r.folds[0].threshold).to.be.closeTo(0.4125, 1e-12);
    expect(r.folds[1].threshold).to.be.closeTo(0.55, 1e-12);
    expect(r.folds[1].trainAccuracy).to.equal(1);
    expect(r.meanAccuracy).to.equal(0.75);
  });

  it('finds the midpoint of scores near the largest double (no overflow to Infinity)', () => {
    const r = bestThreshold([1.7e308, 1.79e308], [false, true], { candidates: 'midpoints' });
    expect(r.accuracy).to.equal(1);
    expect(r.threshold).to.equal(1.745e308);
  });

  it('counts a score equal to the threshold as wrong for both kinds of pair', () => {
    // One same pair at 0.5 and one different pair at 0.5: t = 0.5 gets neither right.
    const r = bestThreshold([0.5, 0.5], [true, false], { steps: 2 });
    // Grid -1, -0.5, 0, 0.5, 1: each of -1..0 gets the same pair only; 0.5 gets none; 1 the
    // different pair only -> mean of -1, -0.5, 0, 1 = -0.125.
    expect(r.accuracy).to.equal(0.5);
    expect(r.threshold).to.equal(-0.125);
  });

  for (const [name, options, candidates] of [
    ['grid', { steps: 100 }, gridOf(100)],
    ['midpoints', { candidates: 'midpoints' as const }, midpointsOf],
  ] as const) {
    it(`matches a brute-force reference on 6000 random pairs in pairs-file order (${name})`, () => {
      const rand = seededUniform(7);
      const n = 6000;
      const same = Array.from({ length: n }, () => rand() < 0.5);
      // Scores on a 0.01 lattice so many land exactly on grid thresholds (ties matter).
      const scores = same.map((s) => Math.round(100 * (s ? 0.3 : 0) + 100 * (rand() - 0.5)) / 100);
      const pairs = pairsFrom(same, (i) => Math.floor(i / 600));
      const r = tenFoldVerification(Float64Array.from(scores), pairs, { threshold: options });
      const ref = bruteForce(scores, same, 600, candidates);
      expect(r.folds).to.have.length(10);
      r.folds.forEach((f, k) => {
        expect(f.pairs).to.equal(600);
        expect(f.threshold).to.be.closeTo(ref[k].threshold, 1e-12);
        expect(f.accuracy).to.equal(ref[k].accuracy);
      });
      const mean = ref.reduce((a, f) => a + f.accuracy, 0) / 10;
      const std = Math.sqrt(ref.reduce((a, f) => a + (f.accuracy - mean) ** 2, 0) / 10);
      expect(r.meanAccuracy).to.be.closeTo(mean, 1e-12);
      expect(r.stdAccuracy).to.be.closeTo(std, 1e-12);
      expect(r.stdAccuracy).to.be.greaterThan(0);
    });
  }

  it('uses each pair fold field, so shuffling pairs with their scores changes nothing', () => {
    const rand = seededUniform(3);
    const n = 300;
    const same = Array.from({ length: n }, () => rand() < 0.5);
    const scores = same.map((s) => (s ? 0.2 : -0.1) + rand() - 0.5);
    const pairs = pairsFrom(same, (i) => Math.floor(i / 30));
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const a = tenFoldVerification(scores, pairs);
    const b = tenFoldVerification(
      order.map((i) => scores[i]),
      order.map((i) => pairs[i]),
    );
    expect(b).to.deep.equal(a);
  });

  it('tests fold k with the scores computed for fold k', () => {
    // Fold-dependent scores: fold 1's copy is shifted by +0.25 everywhere, which moves its
    // threshold by the same amount and leaves its accuracy unchanged.
    const shifted = (k: number) => scores.map((s) => (k === 1 ? s + 0.25 : s));
    const r = kFoldVerification(shifted, pairs, { threshold: { candidates: 'midpoints' } });
    const plain = tenFoldVerification(scores, pairs, { threshold: { candidates: 'midpoints' } });
    expect(r.folds[0]).to.deep.equal(plain.folds[0]);
    expect(r.folds[1].threshold).to.be.closeTo(plain.folds[1].threshold + 0.25, 1e-12);
    expect(r.folds[1].accuracy).to.equal(plain.folds[1].accuracy);
  });

  it('rejects mismatched lengths, non-finite scores and a single fold, naming the argument', () => {
    expect(() => tenFoldVerification([0.1], pairs)).to.throw(/Expected 8 scores/);
    const bad = scores.slice();
    bad[3] = NaN;
    expect(() => tenFoldVerification(bad, pairs)).to.throw(/scores for fold 0\[3\]/);
    expect(() =>
      tenFoldVerification(
        scores,
        pairsFrom(same, () => 0),
      ),
    ).to.throw(/at least 2 folds/);
    expect(() => tenFoldVerification(scores, pairs, { threshold: { steps: 0 } })).to.throw(
      /threshold.steps/,
    );
  });
});

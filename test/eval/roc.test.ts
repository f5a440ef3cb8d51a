import { expect } from 'chai';
import {
  areaUnderCurve,
  equalErrorRate,
  rocCurve,
  summarizeRoc,
  tarAtFar,
} from '../../lib/eval/roc';
import { seededUniform } from './helpers';

describe('ROC, AUC, EER and TAR at FAR', () => {
  it('gives AUC 1, EER 0 and TAR 1 for perfectly separated scores', () => {
    const { summary } = summarizeRoc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]);
    expect(summary.auc).to.equal(1);
    expect(summary.eer).to.equal(0);
    expect(summary.tarAtFar.map((t) => [t.far, t.tar])).to.deep.equal([
      [1e-3, 1],
      [1e-2, 1],
    ]);
    expect(summary.samePairs).to.equal(2);
    expect(summary.differentPairs).to.equal(2);
  });

  it('traces the hand-worked curve of an interleaved case', () => {
    // Descending: 0.9 S, 0.8 D, 0.7 S, 0.4 S, 0.3 D, 0.2 D (3 same, 3 different).
    const scores = [0.9, 0.7, 0.4, 0.8, 0.3, 0.2];
    const same = [true, true, true, false, false, false];
    const pts = rocCurve(scores, same);
    expect(pts.map((p) => [p.far * 3, p.tar * 3])).to.deep.equal([
      [0, 0],
      [0, 1],
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    // 7 of the 9 (same, different) combinations are ordered correctly.
    expect(areaUnderCurve(pts)).to.be.closeTo(7 / 9, 1e-15);
    // FAR = FRR = 1/3 at the point accepting >= 0.7.
    const eer = equalErrorRate(pts);
    expect(eer.eer).to.be.closeTo(1 / 3, 1e-15);
    expect(eer.threshold).to.equal(0.7);
    // Highest TAR with FAR <= 0.1 is at threshold 0.9; with FAR <= 0.5 it is 1 at 0.4.
    expect(tarAtFar(pts, 0.1)).to.deep.equal({ far: 0.1, tar: 1 / 3, threshold: 0.9 });
    expect(tarAtFar(pts, 0.5)).to.deep.equal({ far: 0.5, tar: 1, threshold: 0.4 });
  });

  it('interpolates the EER inside a segment made by tied scores', () => {
    // 0.8 S -> (0, .5); the tie at 0.5 (one S, one D) -> (.5, 1); 0.1 D -> (1, 1).
    // FAR - FRR goes -0.5 -> +0.5 along the middle segment: halfway, FAR = FRR = 0.25.
    const pts = rocCurve([0.8, 0.5, 0.5, 0.1], [true, true, false, false]);
    expect(pts).to.have.length(4);
    const eer = equalErrorRate(pts);
    expect(eer.eer).to.be.closeTo(0.25, 1e-15);
    expect(eer.threshold).to.be.closeTo(0.65, 1e-15);
  });

  it('counts a tie between a same and a different pair as one half in the AUC', () => {
    const { summary } = summarizeRoc([0.5, 0.5], [true, false]);
    expect(summary.auc).to.equal(0.5);
    expect(summary.eer).to.equal(0.5);
  });

  it('matches the Mann-Whitney statistic on random tied scores', () => {
    const rand = seededUniform(11);
    const same = Array.from({ length: 400 }, () => rand() < 0.4);
    const scores = same.map((s) => Math.round(20 * (rand() + (s ? 0.3 : 0))) / 20);
    let wins = 0;
    let p = 0;
    let n = 0;
    for (let i = 0; i < scores.length; i++) {
      if (!same[i]) continue;
      p++;
      for (let j = 0; j < scores.length; j++) {
        if (same[j]) continue;
        wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
      }
    }
    n = scores.length - p;
    const { summary, points } = summarizeRoc(scores, same);
    expect(summary.auc).to.be.closeTo(wins / (p * n), 1e-12);
    // Every point is a real operating point: recount FAR and TAR at its threshold directly.
    for (const pt of points.slice(1)) {
      const acc = scores.map((s) => s >= pt.threshold);
      expect(pt.tar).to.equal(acc.filter((a, i) => a && same[i]).length / p);
      expect(pt.far).to.equal(acc.filter((a, i) => a && !same[i]).length / n);
    }
  });

  it('rejects one-class input, NaN scores and a FAR outside [0, 1]', () => {
    expect(() => rocCurve([0.1, 0.2], [true, true])).to.throw(/both same and different/);
    expect(() => rocCurve([0.1, NaN], [true, false])).to.throw(/scores\[1\]/);
    expect(() => tarAtFar(rocCurve([1, 0], [true, false]), 2)).to.throw(RangeError, /far/);
  });
});

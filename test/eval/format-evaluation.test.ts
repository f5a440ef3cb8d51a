import { expect } from 'chai';
import type { VerificationPair } from '../../lib/data/types';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import { formatEvaluation } from '../../lib/eval/format-evaluation';
import { LfwEvaluator } from '../../lib/eval/lfw-evaluator';

describe('formatEvaluation', () => {
  it('prints accuracy ± std in percent, the ROC figures and the protocol', async () => {
    // 20 one-pixel images: identity = brightness band; 40 pairs in 4 folds.
    const images = Uint8Array.from(
      { length: 60 },
      (_, i) => 20 + 50 * (Math.floor(i / 3) % 4) + (i % 7),
    );
    const pairs: VerificationPair[] = Array.from({ length: 40 }, (_, i) => {
      const a = i % 20;
      return {
        a,
        b: (a + (i % 2 ? 1 : 4)) % 20,
        same: i % 2 === 0,
        fold: Math.floor(i / 10),
        line: i + 1,
      };
    });
    const e = await new LfwEvaluator({ images, n: 20, height: 1, width: 1 }, pairs).evaluate(
      rawPixelEmbedder(1, 1),
    );
    const text = formatEvaluation(e, 'raw pixels').join('\n');
    expect(text).to.contain(
      `raw pixels: accuracy ${(100 * e.accuracy).toFixed(2)}% ± ${(100 * e.std).toFixed(2)}%`,
    );
    expect(text).to.contain('over 4 folds');
    expect(text).to.contain(`AUC ${e.roc.auc.toFixed(4)}`);
    expect(text).to.contain(e.protocol.description);
  });
});

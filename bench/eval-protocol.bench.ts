// Cost of the verification protocol itself (scores, 10 folds x 20001 thresholds, ROC) at LFW's
// size: 7701 images, 6000 pairs, 2 x 512 features. The "model" hands back stored features, so
// this measures the evaluator's arithmetic, not a network.
import type { ImageSet, VerificationPair } from '../lib/data/types';
import type { Embedder } from '../lib/models/embed-images';
import { LfwEvaluator } from '../lib/eval/lfw-evaluator';
import { describeMachine, median } from './machine';

const IMAGES = 7701;
const PAIRS = 6000;
const DIM = 512;

let seed = 12345;
const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const identities = Array.from({ length: 1000 }, () =>
  Float32Array.from({ length: DIM }, () => rand() - 0.5),
);
const identity = Int32Array.from({ length: IMAGES }, (_, i) => i % 1000);
const stored = new Float32Array(IMAGES * DIM);
for (let i = 0; i < IMAGES; i++) {
  for (let k = 0; k < DIM; k++)
    stored[i * DIM + k] = identities[identity[i]][k] + 0.8 * (rand() - 0.5);
}
// 1x1 images whose three bytes encode the image index, so the fake model can look it up
// (its mirror is itself, which is fine here).
const images = new Uint8Array(IMAGES * 3);
for (let i = 0; i < IMAGES; i++) images.set([i & 255, (i >> 8) & 255, 0], 3 * i);
const set: ImageSet = { images, n: IMAGES, height: 1, width: 1 };
const model: Embedder = {
  embeddingDim: DIM,
  async embed(batch: Uint8Array, n: number) {
    const out = new Float32Array(n * DIM);
    for (let j = 0; j < n; j++) {
      const i = batch[3 * j] + 256 * batch[3 * j + 1];
      out.set(stored.subarray(i * DIM, (i + 1) * DIM), j * DIM);
    }
    return out;
  },
};
const pairs: VerificationPair[] = Array.from({ length: PAIRS }, (_, p) => {
  const a = Math.floor(rand() * IMAGES);
  const same = p % 600 < 300;
  let b = same ? (a + 1000) % IMAGES : Math.floor(rand() * IMAGES);
  if (!same && identity[b] === identity[a]) b = (b + 1) % IMAGES;
  return { a, b, same, fold: Math.floor(p / 600), line: p + 2 };
});

async function main() {
  console.log(describeMachine());
  for (const subtractMean of [false, true]) {
    const times: number[] = [];
    let accuracy = 0;
    for (let run = 0; run < 3; run++) {
      const t0 = process.hrtime.bigint();
      const ev = await new LfwEvaluator(set, pairs, { subtractMean }).evaluate(model);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      accuracy = ev.accuracy;
    }
    console.log(
      `LfwEvaluator, flip concat, subtractMean ${subtractMean}: median ${median(times).toFixed(0)} ms ` +
        `over 3 runs (${IMAGES} images, ${PAIRS} pairs, accuracy ${accuracy.toFixed(4)})`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

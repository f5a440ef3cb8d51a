import { expect } from 'chai';
import type { ImageSet, VerificationPair } from '../../lib/data/types';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import type { Embedder } from '../../lib/models/embed-images';
import { LfwEvaluator } from '../../lib/eval/lfw-evaluator';
import { summarizeRoc } from '../../lib/eval/roc';
import { kFoldVerification } from '../../lib/eval/verification';
import { seededUniform, rejection } from './helpers';

const H = 6;
const W = 5;

// Images of 8 identities: a per-identity pattern plus noise.
function makeSet(n: number, seed: number): ImageSet {
  const rand = seededUniform(seed);
  const patterns = Array.from({ length: 8 }, () =>
    Array.from({ length: H * W * 3 }, () => Math.floor(rand() * 200)),
  );
  const images = new Uint8Array(n * H * W * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 8;
    for (let k = 0; k < H * W * 3; k++) {
      images[i * H * W * 3 + k] = patterns[labels[i]][k] + Math.floor(rand() * 56);
    }
  }
  return { images, n, height: H, width: W, labels };
}

function makePairs(set: ImageSet, perFold: number, seed: number): VerificationPair[] {
  const rand = seededUniform(seed);
  const labels = set.labels as Int32Array;
  const pairs: VerificationPair[] = [];
  for (let i = 0; i < 10 * perFold; i++) {
    const wantSame = i % 2 === 0;
    let a: number;
    let b: number;
    do {
      a = Math.floor(rand() * set.n);
      b = Math.floor(rand() * set.n);
    } while (a === b || (labels[a] === labels[b]) !== wantSame);
    pairs.push({ a, b, same: wantSame, fold: Math.floor(i / perFold), line: i + 2 });
  }
  return pairs;
}

// A deterministic, mirror-sensitive function of the pixels: position-weighted channel sums.
const FAKE_DIM = 4;
function fakeFeature(img: (y: number, x: number, c: number) => number): number[] {
  const f = [0, 0, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      f[0] += img(y, x, 0) * (x + 1);
      f[1] += img(y, x, 1) * (y + 1);
      f[2] += img(y, x, 2) * (x - 2) * (y - 3);
      f[3] += (img(y, x, 0) - img(y, x, 2)) * ((x * 7 + y * 3) % 5);
    }
  }
  return f.map((v) => v / 1000);
}

class FakeEmbedder implements Embedder {
  readonly embeddingDim = FAKE_DIM;
  readonly inputSize = { height: H, width: W };
  calls: number[] = [];
  async embed(images: Uint8Array, n: number, flip?: Uint8Array): Promise<Float32Array> {
    this.calls.push(n);
    const out = new Float32Array(n * FAKE_DIM);
    for (let i = 0; i < n; i++) {
      const base = i * H * W * 3;
      const col = (x: number) => (flip?.[i] ? W - 1 - x : x);
      out.set(
        fakeFeature((y, x, c) => images[base + (y * W + col(x)) * 3 + c]),
        i * FAKE_DIM,
      );
    }
    return out;
  }
}

// The evaluation computed directly: mirror by index, features per protocol, cosine, folds.
function direct(
  set: ImageSet,
  pairs: VerificationPair[],
  flip: 'concat' | 'sum' | 'none',
  subtractMean: boolean,
) {
  const px = (i: number, y: number, x: number, c: number) =>
    set.images[i * H * W * 3 + (y * W + x) * 3 + c];
  const feats = Array.from({ length: set.n }, (_, i) => {
    // Through float32, as embed() returns them.
    const f = Array.from(Float32Array.from(fakeFeature((y, x, c) => px(i, y, x, c))));
    const m = Array.from(Float32Array.from(fakeFeature((y, x, c) => px(i, y, W - 1 - x, c))));
    return flip === 'none' ? f : flip === 'sum' ? f.map((v, k) => v + m[k]) : [...f, ...m];
  });
  const cos = (u: number[], v: number[]) => {
    const dot = u.reduce((s, _, k) => s + u[k] * v[k], 0);
    const norms = Math.sqrt(u.reduce((s, x) => s + x * x, 0) * v.reduce((s, x) => s + x * x, 0));
    return norms === 0 ? 0 : dot / norms;
  };
  const scoresFor = (fold: number) => {
    let mean = feats[0].map(() => 0);
    if (subtractMean) {
      const train = pairs.filter((p) => p.fold !== fold).flatMap((p) => [feats[p.a], feats[p.b]]);
      mean = mean.map((_, k) => train.reduce((s, f) => s + f[k], 0) / train.length);
    }
    const sub = (f: number[]) => f.map((v, k) => v - mean[k]);
    return pairs.map((p) => cos(sub(feats[p.a]), sub(feats[p.b])));
  };
  const tested = pairs.map((p) => scoresFor(p.fold)[pairs.indexOf(p)]);
  return { scoresFor, tested };
}

describe('LfwEvaluator', () => {
  const set = makeSet(90, 1);
  const pairs = makePairs(set, 12, 2);

  for (const flip of ['concat', 'sum', 'none'] as const) {
    for (const subtractMean of [false, true]) {
      it(`matches a direct computation (flip ${flip}, subtractMean ${subtractMean})`, async () => {
        const model = new FakeEmbedder();
        const progress: number[] = [];
        const ev = await new LfwEvaluator(set, pairs, {
          flip,
          subtractMean,
          batchSize: 32,
        }).evaluate(model, { onProgress: (done, total) => progress.push(done / total) });
        expect(progress).to.deep.equal([32 / 90, 64 / 90, 1]);
        // Each unique image embedded once, plus once mirrored, in batches of at most 32.
        const total = model.calls.reduce((a, b) => a + b, 0);
        expect(total).to.equal(flip === 'none' ? set.n : 2 * set.n);
        expect(Math.max(...model.calls)).to.be.at.most(32);

        const ref = direct(set, pairs, flip, subtractMean);
        ev.scores.forEach((s, i) => expect(s).to.be.closeTo(ref.tested[i], 1e-9));
        const folds = kFoldVerification(ref.scoresFor, pairs);
        ev.folds.forEach((f, k) => {
          expect(f.threshold).to.be.closeTo(folds.folds[k].threshold, 1e-9);
          expect(f.accuracy).to.equal(folds.folds[k].accuracy);
        });
        expect(ev.accuracy).to.be.closeTo(folds.meanAccuracy, 1e-12);
        expect(ev.std).to.be.closeTo(folds.stdAccuracy, 1e-12);
        const roc = summarizeRoc(
          ref.tested,
          pairs.map((p) => p.same),
        );
        expect(ev.roc.auc).to.be.closeTo(roc.summary.auc, 1e-9);
        expect(ev.roc.eer).to.be.closeTo(roc.summary.eer, 1e-9);
        expect(ev.featureDim).to.equal(flip === 'concat' ? 8 : 4);
        expect(ev.protocol.flip).to.equal(flip);
        expect(ev.protocol.subtractMean).to.equal(subtractMean);
        expect(ev.protocol.description).to.match(/10-fold/);
        expect(ev.angularFisherScore?.afs).to.be.a('number');
      });
    }
  }

  it('removes a shared offset with subtractMean (constructed case)', async () => {
    // Features = a large common offset + a one-hot identity code + small noise: plain cosines are
    // all within 1e-6 of 1, below the grid's 1e-4 resolution, so no threshold separates them;
    // subtracting the training mean leaves the identity codes, which separate perfectly.
    const rand = seededUniform(9);
    const noise = Array.from({ length: set.n }, () =>
      [rand(), rand()].map((v) => (v - 0.5) * 0.02),
    );
    const offset: Embedder = {
      embeddingDim: 10,
      async embed(images: Uint8Array, n: number) {
        const out = new Float32Array(n * 10);
        for (let i = 0; i < n; i++) {
          // Recover the image index from its first bytes (unique per image in this set).
          const idx = indexOf(images.subarray(i * H * W * 3, (i + 1) * H * W * 3));
          out[i * 10] = 1000;
          out[i * 10 + 1] = 1000;
          out[i * 10 + 2 + (set.labels as Int32Array)[idx]] = 1;
          out[i * 10] += noise[idx][0];
          out[i * 10 + 1] += noise[idx][1];
        }
        return out;
      },
    };
    const key = (img: Uint8Array) => Buffer.from(img).toString('base64');
    const byKey = new Map<string, number>();
    for (let i = 0; i < set.n; i++) {
      const img = set.images.subarray(i * H * W * 3, (i + 1) * H * W * 3);
      byKey.set(key(img), i);
      byKey.set(key(mirrorOf(img)), i);
    }
    const indexOf = (img: Uint8Array) => byKey.get(key(img)) as number;
    const plain = await new LfwEvaluator(set, pairs, { flip: 'none' }).evaluate(offset);
    const centred = await new LfwEvaluator(set, pairs, {
      flip: 'none',
      subtractMean: true,
    }).evaluate(offset);
    expect(plain.accuracy).to.be.at.most(0.6);
    expect(centred.accuracy).to.equal(1);
    expect(centred.protocol.description).to.match(/minus the mean feature/);
  });

  it('gives the raw-pixel baseline with rawPixelEmbedder, the event loop turning meanwhile', async () => {
    const raw = rawPixelEmbedder(H, W);
    // rawPixelEmbedder computes on this thread and resolves at once: the loop must still get
    // a turn after every batch (the scores are computed on a worker thread).
    let turns = 0;
    let ticking = true;
    const tick = () => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const batches: number[] = [];
    const ev = await new LfwEvaluator(set, pairs, { flip: 'none', batchSize: 16 }).evaluate(raw, {
      onProgress: () => batches.push(turns),
    });
    ticking = false;
    // Between one batch and the next, the loop turned.
    for (let k = 1; k < batches.length; k++) expect(batches[k]).to.be.above(batches[k - 1]);
    expect(batches).to.have.length(Math.ceil(set.n / 16));
    // Direct: cosine of (p - 127.5) / 128 vectors.
    const vec = (i: number) =>
      Array.from(set.images.subarray(i * H * W * 3, (i + 1) * H * W * 3), (p) => (p - 127.5) / 128);
    pairs.forEach((p, i) => {
      const u = vec(p.a);
      const v = vec(p.b);
      const dot = u.reduce((s, x, k) => s + x * v[k], 0);
      const norm = Math.sqrt(u.reduce((s, x) => s + x * x, 0) * v.reduce((s, x) => s + x * x, 0));
      expect(ev.scores[i]).to.be.closeTo(dot / norm, 1e-6);
    });
    expect(ev.featureDim).to.equal(H * W * 3);
  });

  for (const subtractMean of [false, true]) {
    it(`leaves raw pixels' mirrors out under 'concat': the same figures (subtractMean ${subtractMean})`, async () => {
      const raw = rawPixelEmbedder(H, W);
      const masks: (Uint8Array | undefined)[] = [];
      const spied = {
        ...raw,
        embed: (images: Uint8Array, n: number, flip?: Uint8Array) => {
          masks.push(flip);
          return raw.embed(images, n, flip);
        },
      };
      // The same embedder, not declaring the symmetry: its mirrors are embedded and appended.
      const withMirrors = { ...raw, mirrorPermutesFeatures: false };
      const evaluator = new LfwEvaluator(set, pairs, { flip: 'concat', subtractMean });
      const short = await evaluator.evaluate(spied);
      const full = await evaluator.evaluate(withMirrors);
      expect(masks.every((m) => m === undefined)).to.equal(true);
      expect(short.featureDim)
        .to.equal(full.featureDim)
        .and.to.equal(2 * H * W * 3);
      short.scores.forEach((s, i) => expect(s).to.be.closeTo(full.scores[i], 1e-12));
      expect(short.accuracy).to.equal(full.accuracy);
      expect(short.threshold).to.be.closeTo(full.threshold, 1e-12);
      expect(short.angularFisherScore?.afs).to.be.closeTo(full.angularFisherScore!.afs, 1e-12);
      expect((await evaluator.features(spied)).dim).to.equal(2 * H * W * 3);
    });
  }

  it('rejects a size mismatch, out-of-range pair indices, wrong-length features and one fold', async () => {
    await expectReject(
      new LfwEvaluator(set, pairs).evaluate(rawPixelEmbedder(H + 1, W)),
      /input size 7x5/,
    );
    const bad = pairs.map((p, i) => (i === 3 ? { ...p, b: 1000 } : p));
    // At construction, before any image is embedded; the line named when the pair has one.
    expect(() => new LfwEvaluator(set, bad)).to.throw(
      new RegExp(
        `^Expected pairs\\[3\\]\\.b \\(line ${pairs[3].line}\\) to index one of ${set.n} images but received 1000$`,
      ),
    );
    const lineless = bad.map(({ line: _, ...p }) => p) as unknown as typeof pairs;
    expect(() => new LfwEvaluator(set, lineless)).to.throw(
      `Expected pairs[3].b to index one of ${set.n} images but received 1000`,
    );
    const short: Embedder = {
      embeddingDim: 4,
      embed: async (_i: Uint8Array, n: number) => new Float32Array(n * 3),
    };
    await expectReject(new LfwEvaluator(set, pairs).evaluate(short), /x 4 features/);
    expect(() => new LfwEvaluator({ ...set, n: 91 }, pairs)).to.throw(/imageSet.images/);
    expect(() => new LfwEvaluator(set, pairs, { flip: 'max' as 'sum' })).to.throw(/flip/);
    // A pair's same and fold, and the labels, at construction too.
    const notBool = pairs.map((p, i) =>
      i === 2 ? { ...p, same: 'yes' as unknown as boolean } : p,
    );
    expect(() => new LfwEvaluator(set, notBool)).to.throw(
      'Expected boolean for pairs[2].same but received yes',
    );
    const negative = pairs.map((p, i) => (i === 1 ? { ...p, fold: -1 } : p));
    expect(() => new LfwEvaluator(set, negative)).to.throw(
      'Expected non-negative integer for pairs[1].fold but received -1',
    );
    expect(() => new LfwEvaluator({ ...set, labels: new Int32Array(3) }, pairs)).to.throw(
      `Expected imageSet.labels to hold one label per image (n = ${set.n}) but it holds 3`,
    );
    const minus = new Int32Array(set.n).fill(-1);
    expect(() => new LfwEvaluator({ ...set, labels: minus }, pairs)).to.throw(
      'Expected an integer >= 0 for imageSet.labels[0] but received -1 of type number',
    );
    const oneSet = pairs.map((p) => ({ ...p, fold: 0 }));
    expect(() => new LfwEvaluator(set, oneSet)).to.throw(/at least 2 folds .* single set/);
  });

  it('names a missing image set, pairs, batchSize or model', async () => {
    const loose = LfwEvaluator as unknown as new (...args: unknown[]) => LfwEvaluator;
    expect(() => new loose(undefined, pairs)).to.throw(
      TypeError,
      /^Expected an ImageSet \(\{ images, n, height, width \}\) for imageSet but received a value of type undefined$/,
    );
    expect(() => new loose(set, [])).to.throw(
      TypeError,
      /^Expected a non-empty array of verification pairs for pairs but received an empty array$/,
    );
    expect(() => new loose(set, pairs, { batchSize: '8' })).to.throw(
      TypeError,
      /^Expected an integer >= 1 for batchSize but received '8'$/,
    );
    // The threshold grid in the constructor: too fine a grid would not fit in memory.
    expect(() => new LfwEvaluator(set, pairs, { threshold: { steps: 1e12 } })).to.throw(
      RangeError,
      /^Expected an integer in 1\.\.10000000 for threshold\.steps but received 1000000000000 of type number$/,
    );
    const evaluator = new LfwEvaluator(set, pairs);
    await expectReject(
      (evaluator.evaluate as (model?: unknown) => Promise<unknown>)(undefined),
      /^Expected a model \(an object with embed\(\) and embeddingDim\) for model but received a value of type undefined$/,
    );
  });
});

function mirrorOf(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) out[(y * W + x) * 3 + c] = img[(y * W + (W - 1 - x)) * 3 + c];
    }
  }
  return out;
}

async function expectReject(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  expect((await rejection(p)).message).to.match(pattern);
}

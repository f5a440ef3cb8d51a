// LFW-style verification of a model: embed each unique image once (and its mirror), score the
// pairs by cosine similarity under a stated protocol, and report fold accuracy and ROC figures.
import type { ImageSet, VerificationPair } from '../data/types';
import {
  resolveAfsOptions,
  type AfsOptions,
  type AngularFisherScore,
} from './angular-fisher-score';
import { embedImages, expectEmbedder, type Embedder, type FlipMode } from '../models/embed-images';
import { expectInteger, expectObject, fail } from '../util/expect';
import { expectOptions, type OptionKeys } from '../util/option-keys';
import { expectEvaluation } from './expect-evaluation';
import {
  describeProtocol,
  PROTOCOL_OPTION_KEYS,
  resolveProtocol,
  type Protocol,
  type ProtocolOptions,
} from './protocol';
import type { RocPoint, RocSummary } from './roc';
import { checkIndices } from './pair-scores';
import { scorePairsOffThread } from './score-pairs';
import { checkPairFields, type FoldResult } from './verification';

export interface LfwEvaluatorOptions extends ProtocolOptions {
  /** Images per embed call (default 64). */
  batchSize?: number;
  /** How the Angular Fisher Score is computed when the images have labels. */
  afs?: AfsOptions;
}

export interface EvaluateOptions {
  /** Called after each embedded batch with the images done so far (for progress bars). */
  onProgress?: (done: number, total: number) => void;
}

const EVALUATOR_OPTION_KEYS: OptionKeys<LfwEvaluatorOptions> = {
  ...PROTOCOL_OPTION_KEYS,
  batchSize: true,
  afs: true,
};

export interface LfwEvaluation {
  /** Mean held-out fold accuracy. */
  accuracy: number;
  /** Population std of the fold accuracies. */
  std: number;
  /** Mean of the per-fold thresholds (same when cosine > threshold). */
  threshold: number;
  folds: FoldResult[];
  roc: RocSummary;
  rocPoints: RocPoint[];
  /** Per pair, in pairs order: the score it was tested with (its own fold's, under subtractMean). */
  scores: Float64Array;
  /** AFS of the evaluated features when the image set has labels. */
  angularFisherScore?: AngularFisherScore;
  protocol: Protocol & { description: string };
  images: number;
  pairs: number;
  featureDim: number;
  embedSeconds: number;
}

/** Labels, when the set has them (for the Angular Fisher Score): one class index per image. */
function checkLabels(labels: ImageSet['labels'], n: number): void {
  if (labels === undefined) return;
  if (labels.length !== n) {
    throw new RangeError(
      `Expected imageSet.labels to hold one label per image (n = ${n}) but it holds ${labels.length}`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0) {
      fail('an integer >= 0', `imageSet.labels[${i}]`, labels[i], RangeError);
    }
  }
}

export class LfwEvaluator {
  readonly protocol: Protocol;
  private readonly batchSize: number;
  private readonly afs: AfsOptions;

  constructor(
    readonly imageSet: ImageSet,
    readonly pairs: readonly VerificationPair[],
    options: LfwEvaluatorOptions = {},
  ) {
    expectObject(imageSet, 'imageSet', 'an ImageSet ({ images, n, height, width })');
    expectOptions(options, 'options', EVALUATOR_OPTION_KEYS);
    this.protocol = resolveProtocol(options);
    this.batchSize =
      options.batchSize === undefined ? 64 : expectInteger(options.batchSize, 'batchSize', 1);
    this.afs = resolveAfsOptions(options.afs ?? {}, 'afs');
    const { n, height, width, images } = imageSet;
    if (!(images instanceof Uint8Array) || images.length !== n * height * width * 3) {
      throw new Error(
        `Expected imageSet.images to hold n x height x width x 3 = ${n * height * width * 3} bytes but received ${images?.length}`,
      );
    }
    if (!Array.isArray(pairs) || pairs.length === 0) {
      fail('a non-empty array of verification pairs', 'pairs', pairs);
    }
    // Now, not after every image is embedded.
    checkIndices(pairs, n);
    checkPairFields(pairs);
    checkLabels(imageSet.labels, n);
    // Checked before any embedding: a single-set file (pairsDevTest.txt) has no folds to
    // cross-validate the threshold on.
    if (new Set(pairs.map((p) => p.fold)).size < 2) {
      throw new Error(
        'The k-fold protocol needs pairs in at least 2 folds (a pairs.txt with folds) but these ' +
          'pairs form a single set, as pairsDevTest.txt does',
      );
    }
  }

  /** Per-image features as the protocol combines them, n x featureDim, float64. */
  async features(
    model: Embedder,
    options: EvaluateOptions = {},
  ): Promise<{ features: Float64Array; dim: number }> {
    return this.embedAll(model, this.protocol.flip, options);
  }

  private async embedAll(
    model: Embedder,
    flip: FlipMode,
    options: EvaluateOptions,
  ): Promise<{ features: Float64Array; dim: number }> {
    expectEmbedder(model);
    expectOptions<EvaluateOptions>(options, 'options', { onProgress: true });
    const { n, height, width, images } = this.imageSet;
    if (model.inputSize && (model.inputSize.height !== height || model.inputSize.width !== width)) {
      throw new Error(
        `Expected images of the model's input size ${model.inputSize.height}x${model.inputSize.width} but the image set holds ${height}x${width}`,
      );
    }
    const pixels = height * width * 3;
    return embedImages(
      model,
      n,
      (start, count) => images.subarray(start * pixels, (start + count) * pixels),
      { flip, batchSize: this.batchSize, onProgress: options.onProgress },
    );
  }

  async evaluate(model: Embedder, options: EvaluateOptions = {}): Promise<LfwEvaluation> {
    const started = process.hrtime.bigint();
    // The same figures from half the features (raw pixels of LFW: 3.6 GB rather than 7.2 GB).
    const { flip } = this.protocol;
    const mirrorAddsNothing = flip === 'concat' && model?.mirrorPermutesFeatures === true;
    const { features, dim } = await this.embedAll(
      model,
      mirrorAddsNothing ? 'none' : flip,
      options,
    );
    const embedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (let i = 0; i < features.length; i++) {
      if (!Number.isFinite(features[i])) {
        throw new Error(`The model returned a non-finite feature for image ${Math.floor(i / dim)}`);
      }
    }

    const pairs = this.pairs;
    const labels = this.imageSet.labels;
    const { result, roc, rocPoints, scores, angularFisherScore } = await scorePairsOffThread({
      features,
      dim,
      pairs,
      protocol: this.protocol,
      labels: labels ? Int32Array.from(labels) : undefined, // one per image: checked at construction
      afs: this.afs,
    });
    return {
      accuracy: result.meanAccuracy,
      std: result.stdAccuracy,
      threshold: result.meanThreshold,
      folds: result.folds,
      roc,
      rocPoints,
      scores,
      angularFisherScore,
      protocol: {
        ...this.protocol,
        description: describeProtocol(this.protocol, result.folds.length),
      },
      images: this.imageSet.n,
      pairs: pairs.length,
      featureDim: mirrorAddsNothing ? 2 * dim : dim,
      embedSeconds,
    };
  }
}

/** The JSON-friendly part of an evaluation (no per-pair arrays) for summaries and --json. */
export function evaluationSummary(e: LfwEvaluation): Record<string, unknown> {
  expectEvaluation(e, 'evaluation');
  return {
    accuracy: e.accuracy,
    std: e.std,
    threshold: e.threshold,
    folds: e.folds,
    auc: e.roc.auc,
    eer: e.roc.eer,
    tarAtFar: e.roc.tarAtFar,
    angularFisherScore: e.angularFisherScore,
    protocol: e.protocol,
    images: e.images,
    pairs: e.pairs,
    featureDim: e.featureDim,
    embedSeconds: e.embedSeconds,
  };
}

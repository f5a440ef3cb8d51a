// `sphereface experiment toy --dim 2|3`: the paper's feature pictures. A handful of synthetic
// identities, the demo's net with a 2-D or 3-D embedding, trained once per loss (the plain
// softmax and A-Softmax m = 1..4, the same seeds for each), and the training images' features
// drawn by direction: on the unit circle (2-D) or the unit sphere (3-D), one colour per identity.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { angularFisherScore } from '../../eval/angular-fisher-score';
import { angularSpread, type AngularSpread } from '../../eval/angular-spread';
import { describeHead, HEAD_DEFAULTS, type MarginHead } from '../../ops/margin-head';
import { renderPlot } from '../../report/report-plots';
import { generateSyntheticFaces } from '../../synth/generate';
import { NonFiniteLossError } from '../../train/trainer';
import { writeFileAtomic } from '../../util/atomic-write';
import { loadTrainSet, type TrainSet } from '../datasets';
import type { Output } from '../output';
import { storeProgress } from '../store-progress';
import type { TrainingConfig } from '../training-args';
import { runTraining } from '../training-run';
import { throwIfStoppedEarly } from '../run-report';

export const TOY_HEADS: readonly { id: string; head: MarginHead }[] = [
  { id: 'softmax', head: HEAD_DEFAULTS.softmax },
  ...[1, 2, 3, 4].map((m) => ({ id: `sphere-m${m}`, head: { kind: 'sphere', m } as const })),
];

export interface ToySet {
  identities: number;
  images: number;
  seed: number;
  /** The folder the generated sets are kept under. */
  cacheRoot: string;
}

export interface ToyPanelResult {
  id: string;
  loss: string;
  /** Training accuracy of the last epoch. */
  accuracy?: number;
  finalLoss?: number;
  spread?: AngularSpread;
  afs?: number;
  failed?: string;
}

export interface ToyInput {
  set: ToySet;
  dim: 2 | 3;
  /** The training every panel shares; head, embeddingDim and out are set per panel. */
  config: TrainingConfig;
  out: Output;
}

/** "within 12.3° (max 40°), between >= 35.2°"; `degree` ' deg' for the plots' font, which has no °. */
export function describeSpread(s: AngularSpread, degree = '°'): string {
  return `within ${s.meanWithin.toFixed(1)}${degree} (max ${s.maxWithin.toFixed(0)}${degree}), between >= ${s.minBetween.toFixed(1)}${degree}`;
}

export async function runToyExperiment(input: ToyInput): Promise<{
  panels: ToyPanelResult[];
  files: { plot: string; json: string };
}> {
  const { config, out, set } = input;
  // The held-out half of a synthetic set is unused here: the smallest one the generator makes.
  const dir = path.join(set.cacheRoot, `toy-${set.identities}x${set.images}-seed${set.seed}`);
  out.line(`synthetic identities: ${dir}`);
  const synth = await generateSyntheticFaces({
    out: dir,
    identities: set.identities,
    images: set.images,
    heldOutIdentities: 2,
    heldOutImages: 2,
    folds: 1,
    pairsPerFold: 1,
    seed: set.seed,
    onProgress: out.counter('generating synthetic faces'),
  });
  const train = await loadTrainSet(synth.trainDir, config.arch, {
    cacheDir: path.join(dir, 'decoded'),
    onStoreEvent: storeProgress(out),
  });
  try {
    return await trainPanels(input, train);
  } finally {
    train.images.close();
  }
}

async function trainPanels(
  input: ToyInput,
  train: TrainSet,
): Promise<{ panels: ToyPanelResult[]; files: { plot: string; json: string } }> {
  const { config, dim, out, set } = input;
  const { labels, n } = train.images;
  // A few hundred images: all of them, whole, for the features drawn.
  const pixels = await train.images.read(Array.from({ length: n }, (_, i) => i));
  await fs.mkdir(config.out, { recursive: true });

  const panels: ToyPanelResult[] = [];
  const drawn = [];
  for (const { id, head } of TOY_HEADS) {
    const loss = describeHead(head);
    out.line();
    out.line(`training ${config.arch} with a ${dim}-D embedding and ${loss}:`);
    try {
      const run = await runTraining({
        config: {
          ...config,
          head,
          embeddingDim: dim,
          out: path.join(config.out, id),
          checkpointEvery: config.epochs,
        },
        train: train.images,
        classes: train.classes,
        out,
      });
      throwIfStoppedEarly(
        run,
        `the panels trained so far are under ${config.out}; the plot was not drawn`,
      );
      let features: Float32Array;
      try {
        features = await run.model.embed(pixels, n);
      } finally {
        run.model.dispose();
      }
      const spread = angularSpread(features, labels, dim);
      const last = run.history.epochs.at(-1);
      panels.push({
        id,
        loss,
        accuracy: last?.accuracy,
        finalLoss: last?.loss,
        spread,
        afs: angularFisherScore(features, labels, dim).afs,
      });
      drawn.push({ title: loss, subtitle: describeSpread(spread, ' deg'), features, labels });
      out.line(`${loss}: ${describeSpread(spread)}`);
    } catch (error) {
      if (!(error instanceof NonFiniteLossError)) throw error;
      panels.push({ id, loss, failed: `diverged at iteration ${error.iteration}` });
      out.line(`${loss}: ${error.message}`);
    }
  }
  const files = {
    plot: path.join(config.out, `toy-${dim}d.png`),
    json: path.join(config.out, `toy-${dim}d.json`),
  };
  if (drawn.length > 0) {
    const spec = {
      title:
        `${dim}-D features of ${train.classes} synthetic identities (${n} training ` +
        `images), by direction`,
      dim,
      panels: drawn,
    };
    const png = await renderPlot({ kind: 'feature', spec });
    await writeFileAtomic(files.plot, png);
  }
  const settings = { dim, set, epochs: config.epochs, seed: config.seed, arch: config.arch };
  await writeFileAtomic(files.json, `${JSON.stringify({ panels, settings }, null, 2)}\n`);
  return { panels, files };
}

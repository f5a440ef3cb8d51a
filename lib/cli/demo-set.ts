// The demo's synthetic set, shared by `sphereface demo` and `sphereface experiment margin`:
// its flags, its place in the cache, and its generation (reused when complete) and decoding.
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoadedImages } from '../data/load-images';
import type { ImageStore } from '../data/store/image-store';
import { LfwEvaluator } from '../eval/lfw-evaluator';
import type { Arch } from '../models/types';
import { generateSyntheticFaces, type SynthOptions } from '../synth/generate';
import { integerArg, stringArg } from './args';
import type { Options, ParsedValues } from './command';
import { loadHeldOut, loadTrainSet } from './datasets';
import type { Output } from './output';
import { storeProgress } from './store-progress';

/** The demo set's size: 300 people to train on, 100 held-out people in 10 folds of 300 + 300 pairs. */
export const DEMO_SET = {
  identities: 300,
  images: 10,
  heldOutIdentities: 100,
  heldOutImages: 10,
  folds: 10,
  pairsPerFold: 300,
  synthSeed: 1,
};

/** The set: every size of the synthetic population given, and the folder it lives in. */
export type DemoSetSpec = Required<
  Pick<
    SynthOptions,
    | 'identities'
    | 'images'
    | 'heldOutIdentities'
    | 'heldOutImages'
    | 'folds'
    | 'pairsPerFold'
    | 'seed'
  >
> & { cache: string };

export function defaultCache(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'sphereface');
}

/** The flags that size the set and say where it is kept. */
export const demoSetOptions: Options = {
  identities: {
    type: 'string',
    value: 'N',
    description: 'synthetic training people',
    default: DEMO_SET.identities,
  },
  images: {
    type: 'string',
    value: 'K',
    description: 'photos per person',
    default: DEMO_SET.images,
  },
  'held-out-identities': {
    type: 'string',
    value: 'N',
    description: 'held-out people for the pairs',
    default: DEMO_SET.heldOutIdentities,
  },
  'held-out-images': {
    type: 'string',
    value: 'K',
    description: 'photos per held-out person',
    default: DEMO_SET.heldOutImages,
  },
  folds: { type: 'string', value: 'F', description: 'verification folds', default: DEMO_SET.folds },
  'pairs-per-fold': {
    type: 'string',
    value: 'P',
    description: 'matched (and as many mismatched) pairs per fold',
    default: DEMO_SET.pairsPerFold,
  },
  'synth-seed': {
    type: 'string',
    value: 'S',
    description: 'the synthetic population',
    default: DEMO_SET.synthSeed,
  },
  cache: {
    type: 'string',
    value: 'DIR',
    description: 'where generated sets are kept',
    default: '$XDG_CACHE_HOME/sphereface or ~/.cache/sphereface',
  },
};

export function readDemoSet(values: ParsedValues): DemoSetSpec {
  const spec = {
    identities: integerArg(values, 'identities', 2, DEMO_SET.identities),
    images: integerArg(values, 'images', 2, DEMO_SET.images),
    heldOutIdentities: integerArg(values, 'held-out-identities', 2, DEMO_SET.heldOutIdentities),
    heldOutImages: integerArg(values, 'held-out-images', 2, DEMO_SET.heldOutImages),
    folds: integerArg(values, 'folds', 2, DEMO_SET.folds),
    pairsPerFold: integerArg(values, 'pairs-per-fold', 1, DEMO_SET.pairsPerFold),
    seed: integerArg(values, 'synth-seed', 0, DEMO_SET.synthSeed),
  };
  const s = spec;
  const cache = path.join(
    stringArg(values, 'cache') ?? defaultCache(),
    `synth-${s.identities}x${s.images}-${s.heldOutIdentities}x${s.heldOutImages}-` +
      `${s.folds}x${s.pairsPerFold}-seed${s.seed}`,
  );
  return { ...spec, cache };
}

export interface DemoSet {
  /** The training images; the caller closes the store. */
  train: ImageStore;
  classes: number;
  heldOut: LoadedImages;
  evaluator: LfwEvaluator;
  /** Whether the generated set was already there. */
  reused: boolean;
  synthSeconds: number;
}

/** Generates the set (or reuses it), decodes it for `arch`, and reports both on `out`. */
export async function prepareDemoSet(spec: DemoSetSpec, arch: Arch, out: Output): Promise<DemoSet> {
  const { cache, ...synthOptions } = spec;
  out.line(`synthetic identities: ${cache}`);
  const synthStart = performance.now();
  const synth = await generateSyntheticFaces({
    out: cache,
    ...synthOptions,
    onProgress: out.counter('generating synthetic faces'),
  });
  const synthSeconds = (performance.now() - synthStart) / 1000;
  out.line(
    synth.reused
      ? '  reused (already generated)'
      : `  generated ${spec.identities} x ${spec.images} training and ${spec.heldOutIdentities} x ` +
          `${spec.heldOutImages} held-out images in ${synthSeconds.toFixed(1)} s`,
  );
  const cacheDir = path.join(cache, 'decoded');
  const loadStart = performance.now();
  const train = await loadTrainSet(synth.trainDir, arch, {
    cacheDir,
    onStoreEvent: storeProgress(out, 'decoding training images'),
  });
  const heldOut = await loadHeldOut(synth.lfwDir, synth.pairsFile, arch, {
    cacheDir,
    onProgress: out.counter('decoding held-out images'),
  }).catch((error: unknown) => {
    train.images.close();
    throw error;
  });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  out.line(
    `  ${train.images.n} training images, ${heldOut.images.n} held-out images in ` +
      `${heldOut.pairs.length} pairs, loaded in ${loadSeconds.toFixed(1)} s`,
  );
  return {
    train: train.images,
    classes: train.classes,
    heldOut: heldOut.images,
    evaluator: new LfwEvaluator(heldOut.images, heldOut.pairs),
    reused: synth.reused,
    synthSeconds,
  };
}

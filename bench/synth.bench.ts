// `npm run bench -- synth`: synthetic-identity generation throughput (one thread, then workers)
// and the raw-pixel baseline on the generated held-out pairs: cosine of the 96x96 images the nets
// see ((p - 127.5) / 128 after Resize(96)), 10-fold LFW protocol. The demo needs this baseline
// low (<= 0.70) so that a network's accuracy measures learned identity, not pixel overlap.
// Sizes default to the demo's; SYNTH_IDENTITIES, SYNTH_IMAGES, SYNTH_HELD_OUT_IDENTITIES,
// SYNTH_HELD_OUT_IMAGES, SYNTH_SEED and SYNTH_WORKERS override them; SYNTH_SKIP_SPEED=1 skips
// the throughput runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LfwDataset } from '../lib/data/lfw-dataset';
import { Resize } from '../lib/data/transforms/resize';
import { rawPixelEmbedder } from '../lib/eval/embedder';
import { LfwEvaluator } from '../lib/eval/lfw-evaluator';
import { generateSyntheticFaces, type SynthOptions } from '../lib/synth/generate';
import { DEMO_SET } from '../lib/cli/demo-set';
import { describeMachine } from './machine';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const sizes = {
  identities: env('SYNTH_IDENTITIES', DEMO_SET.identities),
  images: env('SYNTH_IMAGES', DEMO_SET.images),
  heldOutIdentities: env('SYNTH_HELD_OUT_IDENTITIES', DEMO_SET.heldOutIdentities),
  heldOutImages: env('SYNTH_HELD_OUT_IMAGES', DEMO_SET.heldOutImages),
  seed: env('SYNTH_SEED', DEMO_SET.synthSeed),
};
const WORKERS = env('SYNTH_WORKERS', 2);

async function timed(options: SynthOptions) {
  const started = process.hrtime.bigint();
  await generateSyntheticFaces(options);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const count =
    options.identities * options.images +
    (options.heldOutIdentities ?? 100) * (options.heldOutImages ?? 10);
  return { count, seconds, perSecond: count / seconds };
}

async function main(): Promise<void> {
  console.log(describeMachine());
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sphereface-bench-synth-'));
  try {
    // Throughput: the same small set in one thread, then with the workers.
    const small = { identities: 40, images: 5, heldOutIdentities: 20, heldOutImages: 5 };
    if (process.env.SYNTH_SKIP_SPEED !== '1') {
      const smallPairs = { ...small, folds: 10, pairsPerFold: 10 };
      const one = await timed({ ...smallPairs, out: path.join(root, 'one'), workers: 1 });
      const many = await timed({ ...smallPairs, out: path.join(root, 'many'), workers: WORKERS });
      console.log(
        `generate 250x250 JPEGs: 1 thread ${one.perSecond.toFixed(1)} images/s, ` +
          `${WORKERS} workers ${many.perSecond.toFixed(1)} images/s (${many.count} images each)`,
      );
    }
    // The full set: its time, then the raw-pixel baseline on its held-out pairs.
    const full = await timed({ ...sizes, out: path.join(root, 'full'), workers: WORKERS });
    console.log(
      `sphereface synth --identities ${sizes.identities} --images ${sizes.images} ` +
        `--held-out-identities ${sizes.heldOutIdentities} --held-out-images ${sizes.heldOutImages} ` +
        `--seed ${sizes.seed}: ${full.count} images in ${full.seconds.toFixed(1)} s ` +
        `(${full.perSecond.toFixed(1)} images/s, ${WORKERS} workers)`,
    );
    const lfw = new LfwDataset(
      path.join(root, 'full', 'lfw'),
      path.join(root, 'full', 'pairs.txt'),
    );
    const { images, pairs } = await lfw.load({ transforms: [new Resize(96)] });
    for (const flip of ['concat', 'none'] as const) {
      const result = await new LfwEvaluator(images, pairs, { flip }).evaluate(
        rawPixelEmbedder(96, 96),
      );
      console.log(
        `raw-pixel cosine, flip ${flip}: ${result.accuracy.toFixed(4)} +- ${result.std.toFixed(4)} ` +
          `(${result.pairs} pairs, AUC ${result.roc.auc.toFixed(4)})`,
      );
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});

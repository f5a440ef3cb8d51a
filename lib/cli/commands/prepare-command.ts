import { FaceAlign } from '../../data/transforms/face-align';
import { prepareImageStore } from '../../data/store/prepare-image-store';
import type { DeterministicTransform } from '../../data/transforms/transform';
import { integerArg, requiredString, stringArg } from '../args';
import { UsageError, type Command } from '../command';
import { preprocessToSize } from '../preprocess';
import { storeProgress } from '../store-progress';

/** `--size HxW` (or `--size N` for N x N). */
function parseSize(text: string): { height: number; width: number } {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(text.trim());
  const height = m ? Number(m[1]) : 0;
  const width = m ? Number(m[2] ?? m[1]) : 0;
  if (!(height > 0 && width > 0)) {
    throw new UsageError(`--size expects HxW (e.g. 112x96) but received '${text}'`);
  }
  return { height, width };
}

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'Decode a dataset once into an on-disk image store that training reads at any size',
  usage:
    'sphereface prepare --data SRC --out DIR [--size HxW] [--landmarks FILE] ' +
    '[--skip-bad-images] [--threads N]\n' +
    'SRC: a folder per identity, or a list file (`path label [x1 y1 ... x5 y5]` per line).\n' +
    '--size resizes and centre-crops every image to HxW; with --landmarks the faces are aligned\n' +
    "onto SphereFace's 112x96 template instead. Without either, images keep their decoded size\n" +
    '(which must be one size, as in the 112x112 insightface releases).\n' +
    'Run again on the same DIR to resume an interrupted run, to check every shard and rebuild\n' +
    'damaged ones, or to start over when the source changed.',
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    size: { type: 'string' },
    landmarks: { type: 'string' },
    'skip-bad-images': { type: 'boolean' },
    threads: { type: 'string' },
  },
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const data = requiredString(values, 'data');
    const out = requiredString(values, 'out');
    const sizeText = stringArg(values, 'size');
    const size = sizeText === undefined ? undefined : parseSize(sizeText);
    const landmarks = stringArg(values, 'landmarks');
    if (landmarks && size && (size.height !== 112 || size.width !== 96)) {
      throw new UsageError(
        `--landmarks aligns faces onto SphereFace's 112x96 template; --size ${sizeText} does not fit it`,
      );
    }
    let transforms: DeterministicTransform[] = [];
    if (size) transforms = preprocessToSize(size, landmarks !== undefined);
    else if (landmarks) transforms = [new FaceAlign()];
    const json = values.json === true;
    const store = await prepareImageStore({
      source: data,
      out,
      transforms,
      landmarks,
      onBadImage: values['skip-bad-images'] === true ? 'skip' : 'error',
      threads: integerArg(values, 'threads', 1),
      onProgress: storeProgress(),
    });
    try {
      const done = store.preparation!;
      const summary = {
        command: 'prepare',
        out: store.dir,
        images: store.n,
        classes: store.classes,
        height: store.height,
        width: store.width,
        shards: store.shards,
        imagesPerShard: store.imagesPerShard,
        skipped: store.skipped.length,
        reused: done.reused,
        resumedShards: done.resumedShards,
        builtShards: done.builtShards,
        rebuilt: done.rebuilt.map((p) => p.file),
        stale: done.stale ?? null,
        seconds: done.seconds,
      };
      if (json) {
        console.log(JSON.stringify(summary));
        return 0;
      }
      const state = done.reused
        ? 'already complete and intact'
        : `${done.builtShards} shards written in ${done.seconds.toFixed(1)} s` +
          (done.resumedShards > 0 ? `, ${done.resumedShards} kept from an earlier run` : '') +
          (done.rebuilt.length > 0 ? `, ${done.rebuilt.length} damaged ones rebuilt` : '');
      console.log(
        `${store.dir}: ${store.n} images of ${store.height}x${store.width}, ${store.classes} classes, ` +
          `${store.shards} shards (${state})`,
      );
      for (const s of store.skipped) console.log(`skipped ${s.path}: ${s.reason}`);
      return 0;
    } finally {
      store.close();
    }
  },
};

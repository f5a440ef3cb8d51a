import {
  checkShardSize,
  ShardSizeError,
  fixedOutputSize,
  prepareImageStore,
} from '../../data/store/prepare-image-store';
import { stopOnSignal } from '../stop-on-signal';
import { stoppingPreparation } from '../store-progress';
import { FaceAlign } from '../../data/transforms/face-align';
import { checkOutputPixels, type DeterministicTransform } from '../../data/transforms/transform';
import { MAX_THREADS } from '../../util/expect';
import { inputTransforms } from '../../models/preprocess';
import { integerArg, maxPixelsArg, maxPixelsOption, requiredString, stringArg } from '../args';
import { checkAsUsage, UsageError, type Command } from '../command';
import { checkOutputFolder } from '../output-paths';
import { storeProgress } from '../store-progress';

const shards = (n: number) => `${n} shard${n === 1 ? '' : 's'}`;

/** `--size HxW` (or `--size N` for N x N). */
function parseSize(text: string): { height: number; width: number } {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(text.trim());
  const height = m ? Number(m[1]) : 0;
  const width = m ? Number(m[2] ?? m[1]) : 0;
  if (!(height > 0 && width > 0)) {
    throw new UsageError(`--size expects HxW (e.g. 112x96) but received '${text}'`);
  }
  checkAsUsage(
    () => checkOutputPixels(height, width, `--size ${text}`, 'prepare'),
    (message) => message.replace(/^prepare: /, ''),
  );
  return { height, width };
}

export const prepareCommand: Command = {
  name: 'prepare',
  summary: 'Decode a dataset once into an on-disk image store that training reads at any size',
  usage:
    'sphereface prepare --data SRC --out DIR [--size HxW] [--landmarks FILE] ' +
    '[--skip-bad-images] [--threads N] [--images-per-shard N] [--replace]',
  notes:
    'SRC: a folder per identity, an insightface train.rec (with its .idx and property), or a\n' +
    'list file (`path label [x1 y1 ... x5 y5]` per line). --size resizes and centre-crops every\n' +
    "image to HxW; with --landmarks the faces are aligned onto SphereFace's 112x96 template\n" +
    'instead. Without either, images keep their decoded size (which must be one size, as in the\n' +
    '112x112 insightface releases). Run again on the same DIR to resume an interrupted run, to\n' +
    'check every shard and rebuild damaged ones, or to start over when the source changed; a\n' +
    'finished store of other inputs is refused unless --replace.\n' +
    'Ctrl-C stops once the shards being written are recorded; the next run continues after them.',
  options: {
    data: {
      type: 'string',
      value: 'SRC',
      description: 'a folder per identity, a .rec, or a list file (required)',
    },
    out: { type: 'string', value: 'DIR', description: 'the store folder (required)' },
    size: {
      type: 'string',
      value: 'HxW',
      description: 'resize and centre-crop every image to H x W',
      default: 'the decoded size',
    },
    landmarks: {
      type: 'string',
      value: 'FILE',
      description: 'five points per image (path<TAB>x1 y1 ... x5 y5): align onto 112x96',
    },
    'skip-bad-images': {
      type: 'boolean',
      description: 'leave out images that cannot be decoded (listed in the manifest)',
    },
    threads: {
      type: 'string',
      value: 'N',
      description: 'decode threads',
      default: 'the cores available',
    },
    'images-per-shard': {
      type: 'string',
      value: 'N',
      description: 'images in each shard file',
      default: 'as many as fit in 64 MiB',
    },
    replace: {
      type: 'boolean',
      description:
        'discard a finished store of other inputs in DIR first (it is gone even if this run fails)',
    },
    ...maxPixelsOption,
  },
  async run(values, positionals, out) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const data = requiredString(values, 'data');
    const dir = requiredString(values, 'out');
    await checkOutputFolder('out', dir);
    const sizeText = stringArg(values, 'size');
    const size = sizeText === undefined ? undefined : parseSize(sizeText);
    const landmarks = stringArg(values, 'landmarks');
    if (landmarks && size && (size.height !== 112 || size.width !== 96)) {
      throw new UsageError(
        `--landmarks aligns faces onto SphereFace's 112x96 template; --size ${sizeText} does not fit it`,
      );
    }
    let transforms: DeterministicTransform[] = [];
    if (size) transforms = inputTransforms(size, { aligned: landmarks !== undefined });
    else if (landmarks) transforms = [new FaceAlign()];
    const threads = integerArg(values, 'threads', 1, undefined, MAX_THREADS);
    const imagesPerShard = integerArg(values, 'images-per-shard', 1);
    // A shard too large is bad usage: found before the store is touched with the size given,
    // else by the first image's size.
    const refuseShardSize = (per: number, { height, width }: { height: number; width: number }) =>
      checkAsUsage(() => checkShardSize(per, height, width, '--images-per-shard'));
    const sized = fixedOutputSize(transforms);
    if (imagesPerShard !== undefined && sized) refuseShardSize(imagesPerShard, sized);
    const controller = new AbortController();
    const store = await stopOnSignal(out, stoppingPreparation(controller), () =>
      prepareImageStore({
        source: data,
        out: dir,
        replaceOtherStore: values.replace === true,
        transforms,
        landmarks,
        onBadImage: values['skip-bad-images'] === true ? 'skip' : 'error',
        threads,
        imagesPerShard,
        maxPixels: maxPixelsArg(values),
        onProgress: storeProgress(out),
        signal: controller.signal,
      }).catch((error: unknown) => {
        if (error instanceof ShardSizeError) refuseShardSize(error.imagesPerShard, error);
        throw error;
      }),
    );
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
        skippedImages: store.skipped.map(({ path, reason }) => ({ path, reason })),
        reused: done.reused,
        resumedShards: done.resumedShards,
        builtShards: done.builtShards,
        rebuilt: done.rebuilt.map((p) => p.file),
        stale: done.stale ?? null,
        seconds: done.seconds,
      };
      out.result(summary);
      const state = done.reused
        ? 'already complete and intact'
        : `${shards(done.builtShards)} written in ${done.seconds.toFixed(1)} s` +
          (done.resumedShards > 0 ? `, ${done.resumedShards} kept from an earlier run` : '') +
          (done.rebuilt.length > 0 ? `, ${done.rebuilt.length} damaged rebuilt` : '');
      out.line(
        `${store.dir}: ${store.n} images of ${store.height}x${store.width}, ${store.classes} classes, ` +
          `${shards(store.shards)} (${state})`,
      );
      // Notes, as train's: on stderr, and JSON lines under --json.
      for (const s of store.skipped) out.note(`skipped ${s.path}: ${s.reason}`);
      return 0;
    } finally {
      store.close();
    }
  },
};

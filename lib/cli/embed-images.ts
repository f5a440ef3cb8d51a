// Image files for `embed` and `verify`, decoded and preprocessed exactly as the training and
// evaluation sets are (the data pipeline's decode pool and the arch's transforms), then handed
// to the evaluator's embedFiles through its `decode` hook.
import { loadImages } from '../data/load-images';
import { embedFiles, type FileEmbeddings } from '../eval/face-files';
import type { FlipMode } from '../eval/protocol';
import type { Model } from '../models/model';
import { preprocessFor } from './preprocess';

export async function embedImageFiles(
  model: Model,
  paths: string[],
  options: {
    flip?: FlipMode;
    batchSize?: number;
    progress?: boolean;
    normalize?: boolean;
    maxPixels?: number;
  } = {},
): Promise<FileEmbeddings> {
  const set = await loadImages(paths, {
    transforms: preprocessFor(model.arch, false),
    progress: options.progress === false ? false : undefined,
    maxPixels: options.maxPixels,
  });
  const pixels = set.height * set.width * 3;
  const row = new Map(paths.map((p, i) => [p, i]));
  const decode = async (file: string) => {
    const i = row.get(file)!;
    return set.images.subarray(i * pixels, (i + 1) * pixels);
  };
  return embedFiles(model, paths, {
    flip: options.flip,
    batchSize: options.batchSize,
    normalize: options.normalize,
    decode,
  });
}

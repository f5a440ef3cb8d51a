import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeNpy } from '../../eval/npy';
import { loadModel } from '../../models/model';
import { writeFileAtomic } from '../../fs/write-file-atomic';
import {
  integerArg,
  maxPixelsArg,
  maxPixelsOption,
  maxPixelsUsage,
  requiredString,
  stringArg,
} from '../args';
import { UsageError, type Command } from '../command';
import { embedImageFiles } from '../embed-images';

function readList(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read image list ${file}: ${(error as NodeJS.ErrnoException).code}`);
  }
  const base = path.dirname(file);
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => path.resolve(base, l));
}

export const embedCommand: Command = {
  name: 'embed',
  summary: 'Embed image files with a model: OUT.npy (n x dim float32) and OUT.json (the paths)',
  usage:
    'sphereface embed --model FILE --out PREFIX [--list FILE] [--no-flip] [--batch-size N] ' +
    `${maxPixelsUsage} IMAGE...`,
  options: {
    model: { type: 'string' },
    out: { type: 'string', short: 'o' },
    list: { type: 'string' },
    'no-flip': { type: 'boolean' },
    'batch-size': { type: 'string' },
    ...maxPixelsOption,
  },
  async run(values, positionals) {
    const modelFile = requiredString(values, 'model');
    const prefix = requiredString(values, 'out').replace(/\.(npy|json)$/, '');
    const listFile = stringArg(values, 'list');
    const paths = [
      ...positionals.map((p) => path.resolve(p)),
      ...(listFile ? readList(listFile) : []),
    ];
    if (paths.length === 0)
      throw new UsageError('give image files, or --list FILE with one path a line');
    const missing = paths.find((p) => !fs.existsSync(p));
    if (missing) throw new Error(`image ${missing} does not exist`);
    if (!fs.existsSync(modelFile)) throw new Error(`model file ${modelFile} does not exist`);
    const batchSize = integerArg(values, 'batch-size', 1, 64);
    const maxPixels = maxPixelsArg(values);
    const model = await loadModel(modelFile);
    try {
      const embedded = await embedImageFiles(model, paths, {
        flip: values['no-flip'] === true ? 'none' : 'concat',
        batchSize,
        progress: values.json !== true,
        maxPixels,
      });
      const n = embedded.paths.length;
      await fs.promises.mkdir(path.dirname(path.resolve(prefix)), { recursive: true });
      await writeFileAtomic(`${prefix}.npy`, encodeNpy(embedded.embeddings, [n, embedded.dim]));
      const index = {
        model: path.resolve(modelFile),
        arch: model.arch,
        dim: embedded.dim,
        paths: embedded.paths,
      };
      await writeFileAtomic(`${prefix}.json`, JSON.stringify(index, null, 2) + '\n');
      const result = { embeddings: `${prefix}.npy`, paths: `${prefix}.json`, n, dim: embedded.dim };
      console.log(
        values.json
          ? JSON.stringify(result)
          : `${n} embeddings of ${embedded.dim} floats -> ${result.embeddings}, paths -> ${result.paths}`,
      );
      return 0;
    } finally {
      model.dispose();
    }
  },
};

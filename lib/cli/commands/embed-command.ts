import * as path from 'node:path';
import { encodeNpy } from '../../eval/npy';
import { loadModel } from '../../models/model';
import { writeFilesAtomic } from '../../util/atomic-write';
import { crc32Yielding } from '../../util/crc32';
import { withSignalsHeld } from '../hold-signals';
import { expectInput, readRegularFileSync } from '../../util/regular-file';
import { integerArg, maxPixelsArg, maxPixelsOption, requiredString, stringArg } from '../args';
import { UsageError, type Command, type Options } from '../command';
import {
  alignmentNote,
  expectImageFiles,
  faceLocationArgs,
  faceOptions,
  refuseFaceFlags,
} from '../face-args';
import { checkOutputFile, isFolder, type InputFile } from '../output-paths';
import { makeFolder } from '../../util/make-folder';

/** The list's image paths (relative ones to its folder), each with where it is listed. */
function readList(file: string): { path: string; where: string }[] {
  let text: string;
  try {
    text = readRegularFileSync(file).toString('utf8');
  } catch (error) {
    throw new Error(`cannot read image list: ${(error as Error).message}`);
  }
  const base = path.dirname(file);
  return text
    .split('\n')
    .map((line, i) => ({ entry: line.trim(), where: `${file}:${i + 1}` }))
    .filter(({ entry }) => entry && !entry.startsWith('#'))
    .map(({ entry, where }) => ({ path: path.resolve(base, entry), where }));
}

const flags = {
  model: { type: 'string', value: 'FILE', description: 'the model file (model.sfm)' },
  out: {
    type: 'string',
    short: 'o',
    value: 'PREFIX',
    description: 'writes PREFIX.npy (n x dim float32) and PREFIX.json (the paths in row order)',
  },
  list: {
    type: 'string',
    value: 'FILE',
    description: "a file of image paths, one a line (relative ones from FILE's folder)",
  },
  'no-flip': {
    type: 'boolean',
    description: "the image's features alone (default: image and mirror concatenated)",
  },
  'batch-size': { type: 'string', value: 'N', description: 'images per embed call', default: 64 },
  ...faceOptions,
  ...maxPixelsOption,
} satisfies Options;

export const embedCommand: Command = {
  name: 'embed',
  summary: 'Embed image files with a model: OUT.npy (n x dim float32) and OUT.json (the paths)',
  usage:
    'sphereface embed --model FILE --out PREFIX [--list FILE] [--no-flip] [--batch-size N] IMAGE...',
  options: flags,
  async run(values, positionals, out) {
    const modelFile = requiredString(values, 'model');
    const prefix = requiredString(values, 'out').replace(/\.(npy|json)$/, '');
    // A prefix naming a folder would write hidden files into it (X/.npy).
    if (
      /[\\/]$/.test(prefix) ||
      ['', '.', '..'].includes(path.basename(prefix)) ||
      isFolder(prefix)
    ) {
      throw new UsageError(
        `--out ${prefix} is a directory; give a file prefix (--out ${path.join(prefix, 'embeddings')} writes embeddings.npy and embeddings.json)`,
      );
    }
    const listFile = stringArg(values, 'list');
    const listed = listFile ? readList(listFile) : [];
    const images = [
      ...positionals.map((p) => ({ path: path.resolve(p), where: 'an argument' })),
      ...listed,
    ];
    if (listFile && listed.length === 0 && positionals.length === 0) {
      throw new UsageError(`--list ${listFile} lists no images (one path a line; # comments)`);
    }
    if (images.length === 0)
      throw new UsageError('give image files, or --list FILE with one path a line');
    const paths = images.map((image) => image.path);
    const faces = faceLocationArgs(values, paths);
    expectImageFiles(images);
    expectInput(modelFile, 'model file');
    const inputs: InputFile[] = [
      { flag: 'model', file: modelFile },
      ...(listFile ? [{ flag: 'list', file: listFile }] : []),
      ...paths.map((file) => ({ argument: 'an image to embed', file })),
    ];
    for (const ext of ['npy', 'json']) await checkOutputFile('out', `${prefix}.${ext}`, inputs);
    const batchSize = integerArg(values, 'batch-size', 1, flags['batch-size'].default);
    const model = await loadModel(modelFile);
    try {
      refuseFaceFlags(values, model.inputSize);
      const embedded = await model.embedFiles(paths, {
        ...faces,
        maxPixels: maxPixelsArg(values),
        flip: values['no-flip'] === true ? 'none' : 'concat',
        batchSize,
        onProgress: out.counter('embedding'),
      });
      const n = embedded.paths.length;
      await makeFolder(path.dirname(path.resolve(prefix)), 'the folder of --out');
      const npy = encodeNpy(embedded.embeddings, [n, embedded.dim]);
      const note = alignmentNote(embedded.alignment);
      if (note) out.note(note);
      const index = {
        model: path.resolve(modelFile),
        arch: model.arch,
        dim: embedded.dim,
        paths: embedded.paths,
        alignment: embedded.alignment,
        // Which .npy this index belongs to: a reader can tell a pair mixed by a killed run.
        npy: { file: path.basename(`${prefix}.npy`), crc32: await crc32Yielding([npy]) },
      };
      await withSignalsHeld(() =>
        writeFilesAtomic([
          { file: `${prefix}.npy`, data: npy },
          { file: `${prefix}.json`, data: JSON.stringify(index, null, 2) + '\n' },
        ]),
      );
      const result = { embeddings: `${prefix}.npy`, paths: `${prefix}.json`, n, dim: embedded.dim };
      out.result(result);
      out.line(
        `${n} embeddings of ${embedded.dim} floats -> ${result.embeddings}, paths -> ${result.paths}`,
      );
      return 0;
    } finally {
      model.dispose();
    }
  },
};

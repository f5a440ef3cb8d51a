import { expectInput } from '../../util/regular-file';
import * as path from 'node:path';
import { ImageFolderDataset } from '../../data/image-folder-dataset';
import type { LandmarksFile } from '../../data/landmarks-file';
import { locateFaces } from '../../models/face-location';
import { Gallery } from '../../models/gallery';
import { loadModel } from '../../models/model';
import { integerArg, maxPixelsArg, maxPixelsOption, requiredString } from '../args';
import { UsageError, type Command, type Options } from '../command';
import {
  alignmentNote,
  expectImageFiles,
  faceLocationArgs,
  faceOptions,
  refuseFaceFlags,
} from '../face-args';
import { checkOutputFile } from '../output-paths';
import { makeFolder } from '../../util/make-folder';

const flags = {
  model: { type: 'string', value: 'FILE', description: 'the model file (model.sfm)' },
  root: {
    type: 'string',
    value: 'DIR',
    description: 'build: the known people, one folder each (the folder names the person)',
  },
  gallery: {
    type: 'string',
    short: 'g',
    value: 'FILE',
    description: 'build: the gallery file to write; search: the one to search',
  },
  top: { type: 'string', value: 'K', description: 'search: people listed per probe', default: 5 },
  'no-flip': {
    type: 'boolean',
    description: "build: the image's features alone (default: image and mirror concatenated)",
  },
  landmarks: {
    ...faceOptions.landmarks,
    description: `build and search: ${faceOptions.landmarks.description}`,
  },
  points: { ...faceOptions.points, description: `search: ${faceOptions.points.description}` },
  box: { ...faceOptions.box, description: `search: ${faceOptions.box.description}` },
  ...maxPixelsOption,
} satisfies Options;

// The flags of one action only; given to the other, they would do nothing.
const ACTION_OF: Record<string, 'build' | 'search'> = {
  root: 'build',
  'no-flip': 'build',
  top: 'search',
  points: 'search',
  box: 'search',
};

function mustExist(what: string, file: string): void {
  expectInput(file, what);
}

export const galleryCommand: Command = {
  name: 'gallery',
  summary: 'Build a gallery of known people, and search it with face images (1:N)',
  usage:
    'sphereface gallery build --model FILE --root DIR --gallery FILE [--no-flip] [--landmarks FILE]\n' +
    '       sphereface gallery search --model FILE --gallery FILE [--top K] IMAGE...',
  notes: "A person's score is the cosine similarity of the probe and their closest gallery image.",
  options: flags,
  async run(values, positionals, out) {
    const [action, ...images] = positionals;
    if (action !== 'build' && action !== 'search') {
      const given = action === undefined ? 'nothing' : `'${action}'`;
      throw new UsageError(`the first argument must be 'build' or 'search'; received ${given}`);
    }
    for (const [flag, only] of Object.entries(ACTION_OF)) {
      if (values[flag] !== undefined && only !== action) {
        throw new UsageError(`--${flag} applies to gallery ${only}, not ${action}`);
      }
    }
    const modelFile = requiredString(values, 'model');
    const galleryFile = requiredString(values, 'gallery');
    if (action === 'build' && images.length > 0) {
      throw new UsageError(`unexpected argument '${images[0]}' (build reads --root)`);
    }
    if (action === 'search' && images.length === 0) throw new UsageError('give images to search');
    const top = integerArg(values, 'top', 1, flags.top.default);
    const faces = { ...faceLocationArgs(values, images), maxPixels: maxPixelsArg(values) };
    mustExist('model file', modelFile);
    expectImageFiles(images.map((file) => ({ path: file, where: 'an argument' })));
    if (action === 'build')
      await checkOutputFile('gallery', galleryFile, [{ flag: 'model', file: modelFile }]);
    const model = await loadModel(modelFile);
    try {
      refuseFaceFlags(values, model.inputSize);
      if (action === 'build') {
        const root = requiredString(values, 'root');
        mustExist('folder', root);
        const landmarks = faces.landmarks as LandmarksFile | undefined;
        const gallery = await Gallery.build(model, {
          root,
          flip: values['no-flip'] === true ? 'none' : 'concat',
          landmarks,
          maxPixels: faces.maxPixels,
          onProgress: out.counter('embedding'),
        });
        const built = new ImageFolderDataset(root).paths;
        const note = alignmentNote(locateFaces(built, { landmarks }).alignment);
        if (note) out.note(note);
        await makeFolder(path.dirname(path.resolve(galleryFile)), 'the folder of --gallery');
        await gallery.save(galleryFile);
        out.result({ gallery: galleryFile, people: gallery.names.length, images: gallery.size });
        out.line(`${gallery.size} images of ${gallery.names.length} people -> ${galleryFile}`);
        return 0;
      }
      mustExist('gallery', galleryFile);
      const gallery = await Gallery.load(galleryFile, model);
      const results = await gallery.search(
        images.map((p) => path.resolve(p)),
        { ...faces, top, onProgress: out.counter('embedding') },
      );
      const note = alignmentNote(locateFaces(images, faces).alignment);
      if (note) out.note(note);
      out.result({ gallery: galleryFile, results });
      for (const r of results) {
        const best = r.matches.map((m) => `${m.name} ${m.score.toFixed(4)}`).join(', ');
        out.line(`${r.probe}: ${best}`);
      }
      return 0;
    } finally {
      model.dispose();
    }
  },
};

// Where the faces are, from the command line: a landmark file, five points per image, or a face
// box per image (embed and verify). Without any, the images are used as pre-aligned crops.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expectInput } from '../util/regular-file';
import { LandmarksFile } from '../data/landmarks-file';
import { landmarksInFile, type FaceBox, type FaceLocations } from '../models/face-location';
import { numberListArg, stringArg, stringListArg } from './args';
import { alignmentRefusal } from '../models/preprocess';
import { UsageError, type Options, type ParsedValues } from './command';

/**
 * Face flags given for a model that takes whole images (sphere-cnn4): a usage error naming the
 * first, as every command that aligns faces says it.
 */
export function refuseFaceFlags(
  values: ParsedValues,
  inputSize: { height: number; width: number },
  flags: readonly string[] = Object.keys(faceOptions),
): void {
  const refusal = alignmentRefusal(inputSize);
  const given = flags.find((flag) => values[flag] !== undefined);
  if (refusal && given) throw new UsageError(`--${given}: ${refusal}`);
}

export const faceOptions: Options = {
  landmarks: {
    type: 'string',
    value: 'FILE',
    description:
      "five points per image (path<TAB>x1 y1 ... x5 y5; paths relative to FILE's folder or to a folder above the image): align",
  },
  points: {
    type: 'string',
    value: 'x1,y1,...,x5,y5',
    multiple: true,
    description: "an image's eyes, nose tip and mouth corners, once per image in order: align",
  },
  box: {
    type: 'string',
    value: 'x,y,w,h',
    multiple: true,
    description: "an image's face box (the region the 96x112 crop shows), once per image: align",
  },
};

/**
 * Refuses an image argument that is a list of numbers: a second value given to one --points or
 * --box (`--points A B`), which parseArgs leaves as an image path.
 */
export function refuseStrayFaceValues(paths: readonly string[]): void {
  const numbers = /^-?[\d.]+(,-?[\d.]+){3,}$/;
  const stray = paths.find((p) => numbers.test(path.basename(p)) && !fs.existsSync(p));
  if (stray !== undefined) {
    throw new UsageError(
      `'${path.basename(stray)}' is a list of numbers, not an image: --points and --box take one value each, ` +
        'given once per image (--points A --points B)',
    );
  }
}

/**
 * Refuses, before the model loads, an image that does not exist or is a directory, naming it and
 * where it was given (embed, verify and gallery search say it alike).
 */
export function expectImageFiles(images: readonly { path: string; where: string }[]): void {
  for (const image of images) {
    if (expectInput(image.path, 'image', image.where).isDirectory()) {
      throw new Error(`image ${image.path} is a directory, not an image (${image.where})`);
    }
  }
}

/** The faces of `paths` as the flags locate them; a landmark file must list every one. */
export function faceLocationArgs(values: ParsedValues, paths: readonly string[]): FaceLocations {
  refuseStrayFaceValues(paths);
  const images = paths.length;
  const file = stringArg(values, 'landmarks');
  const points = stringListArg(values, 'points').map((t) => numberListArg(t, 'points', 10));
  const boxes = stringListArg(values, 'box').map((t) => {
    const box = numberListArg(t, 'box', 4);
    if (!(box[2] > 0 && box[3] > 0)) {
      throw new UsageError(`--box expects x,y,width,height with width and height > 0, got '${t}'`);
    }
    return box as unknown as FaceBox;
  });
  if ([file !== undefined, points.length > 0, boxes.length > 0].filter(Boolean).length > 1) {
    throw new UsageError('give one of --landmarks, --points and --box');
  }
  for (const [name, list] of [
    ['points', points],
    ['box', boxes],
  ] as const) {
    if (list.length > 0 && list.length !== images) {
      throw new UsageError(
        `--${name} is needed once per image: ${images} images, ${list.length} given`,
      );
    }
  }
  if (file !== undefined) {
    expectInput(file, 'landmark file');
    const landmarks = new LandmarksFile(file);
    const unlisted = paths.find((p) => landmarksInFile(landmarks, p) === undefined);
    if (unlisted !== undefined) {
      throw new Error(
        `${file}: no landmarks for ${unlisted} (looked up relative to the file's folder, the ` +
          "working folder, and the folders above the image, as an LFW layout's <Name>/<file>)",
      );
    }
    return { landmarks };
  }
  if (points.length > 0) return { landmarks: points };
  if (boxes.length > 0) return { boxes };
  return {};
}

/** The line that says how faces were brought to the input, when any was not aligned. */
export function alignmentNote(alignment: readonly string[]): string | undefined {
  const loose = alignment.filter((a) => a === 'pre-aligned').length;
  if (loose === 0) return undefined;
  const how = 'used as pre-aligned face crops (resized to cover the input, centre-cropped)';
  return loose === alignment.length
    ? `no landmarks or box given: the images are ${how}`
    : `${loose} of ${alignment.length} images have no landmarks or box: ${how}`;
}

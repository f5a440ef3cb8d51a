// Where the face is in a photo, and how that brings it to a model's input: five landmarks go
// through the training pipeline's FaceAlign (cp2tform similarity onto the 96x112 template); a
// box is taken as the region the 96x112 crop should show (the template's points placed in it,
// then the same alignment); without either the photo is taken as an already aligned face crop
// (resized to cover the input and centre-cropped).
import * as path from 'node:path';
import { LandmarksFile, normaliseRelative } from '../data/landmarks-file';
import { SPHEREFACE_TEMPLATE } from '../data/transforms/face-align';
import type { FivePoints } from '../data/transforms/raw-image';
import { describeReceived } from '../util/describe-received';
import { fail } from '../util/expect';

/** A face box: left, top, width and height in pixels. */
export type FaceBox = readonly [number, number, number, number];

/** How a file's face was located. */
export type Alignment = 'landmarks' | 'box' | 'pre-aligned';

export interface FaceLocations {
  /** One set of five points (x1 y1 ... x5 y5) per path (undefined: none), or a landmark file. */
  landmarks?: readonly (FivePoints | readonly number[] | undefined)[] | LandmarksFile;
  /** One face box per path (undefined: none). */
  boxes?: readonly (FaceBox | undefined)[];
}

/**
 * The template's five points placed in `box` (the template's 96x112 frame scaled onto it);
 * `where` names the box in errors (boxes[0] (photo.jpg)).
 */
export function boxLandmarks(box: FaceBox, where?: string): FivePoints {
  const [x, y, w, h] = Array.isArray(box) ? box : [NaN, NaN, NaN, NaN];
  if (![x, y, w, h].every(Number.isFinite) || !(w > 0 && h > 0)) {
    const received = Array.isArray(box) ? `[${box.join(', ')}]` : describeReceived(box);
    throw new RangeError(
      'Expected a box [x, y, width, height] of finite numbers with width, height > 0' +
        `${where ? ` for ${where}` : ''} but received ${received}`,
    );
  }
  return Float64Array.from(SPHEREFACE_TEMPLATE, (v, i) =>
    i % 2 === 0 ? x + ((v + 0.5) * w) / 96 - 0.5 : y + ((v + 0.5) * h) / 112 - 0.5,
  );
}

/** Ten finite numbers (x1 y1 ... x5 y5), or a RangeError naming `where`, null included. */
function expectFivePoints(given: unknown, where: string): FivePoints {
  const values =
    Array.isArray(given) || ArrayBuffer.isView(given)
      ? Array.from(given as ArrayLike<unknown>)
      : undefined;
  if (!values || values.length !== 10 || !values.every(Number.isFinite)) {
    const received = !values
      ? describeReceived(given)
      : values.length === 10
        ? `[${values.join(', ')}]`
        : `${values.length} numbers`;
    throw new RangeError(
      `Expected 10 finite landmark numbers for ${where} but received ${received}`,
    );
  }
  return Float64Array.from(values as number[]);
}

/**
 * A landmark file's points for `file`: its path relative to the list's folder, to the working
 * folder, as given, or relative to a folder above it.
 */
export function landmarksInFile(list: LandmarksFile, file: string): FivePoints | undefined {
  const absolute = path.resolve(file);
  const found =
    list.get(normaliseRelative(path.relative(path.dirname(path.resolve(list.file)), absolute))) ??
    list.get(normaliseRelative(path.relative(process.cwd(), absolute))) ??
    list.get(normaliseRelative(file));
  if (found) return found;
  // Then relative to a folder above the image, the longest path first: a file listing an LFW
  // layout's <Name>/<Name>_0001.jpg beside the lfw/ folder (as synth writes them).
  const parts = absolute.split(path.sep).filter(Boolean);
  for (let start = 1; start < parts.length; start++) {
    const points = list.get(parts.slice(start).join('/'));
    if (points) return points;
  }
  return undefined;
}

/** Per path, the five points to align on (undefined: pre-aligned) and how they were found. */
export function locateFaces(
  paths: readonly string[],
  locations: FaceLocations,
): { points: (FivePoints | undefined)[]; alignment: Alignment[] } {
  const { landmarks, boxes } = locations;
  for (const [name, list] of [
    ['landmarks', landmarks],
    ['boxes', boxes],
  ] as const) {
    const file = name === 'landmarks' && list instanceof LandmarksFile;
    if (list !== undefined && !file && !Array.isArray(list)) {
      fail(
        name === 'boxes' ? 'an array of boxes, one per path' : 'a LandmarksFile or an array',
        name,
        list,
      );
    }
    if (Array.isArray(list) && list.length !== paths.length) {
      throw new RangeError(
        `Expected one entry of ${name} per path (${paths.length}) but received ${list.length}`,
      );
    }
  }
  const points: (FivePoints | undefined)[] = [];
  const alignment: Alignment[] = [];
  paths.forEach((file, i) => {
    const given =
      landmarks instanceof LandmarksFile ? landmarksInFile(landmarks, file) : landmarks?.[i];
    const box = boxes?.[i];
    // An entry of an array is undefined for none; anything else (null too) must be one.
    if (given !== undefined) {
      const where = landmarks instanceof LandmarksFile ? file : `landmarks[${i}] (${file})`;
      points.push(expectFivePoints(given, where));
      alignment.push('landmarks');
    } else if (box !== undefined) {
      points.push(boxLandmarks(box, `boxes[${i}] (${file})`));
      alignment.push('box');
    } else {
      points.push(undefined);
      alignment.push('pre-aligned');
    }
  });
  return { points, alignment };
}

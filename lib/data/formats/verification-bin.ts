// insightface's verification .bin format: a pickled tuple (list of encoded images, list of
// booleans); pair i is images 2i and 2i+1, same person when boolean i is True.
import { PickleTuple, typeName, unpickle, type PickleValue } from './pickle';
import { readRegularFile } from '../../util/regular-file';

/** The content of a verification .bin, images still encoded. */
export interface VerificationBin {
  /** Encoded images (JPEG, PNG...), two per pair. */
  images: Uint8Array[];
  /** One per pair: whether its two images show the same person. */
  same: boolean[];
}

function itemsOf(value: PickleValue): readonly PickleValue[] | undefined {
  if (Array.isArray(value)) return value;
  if (value instanceof PickleTuple) return value.items;
  return undefined;
}

/** Checks the unpickled value's shape: (list of bytes, list of booleans), two images a pair. */
export function parseVerificationBin(bytes: Uint8Array, file: string): VerificationBin {
  const root = unpickle(bytes, file);
  const pair = itemsOf(root);
  if (!pair || pair.length !== 2) {
    throw new Error(
      `${file}: expected a pickled (images, issame) pair but found ${typeName(root)}`,
    );
  }
  const images = itemsOf(pair[0]);
  const same = itemsOf(pair[1]);
  if (!images) throw new Error(`${file}: expected a list of images but found ${typeName(pair[0])}`);
  if (!same) throw new Error(`${file}: expected a list of booleans but found ${typeName(pair[1])}`);
  images.forEach((image, i) => {
    if (!(image instanceof Uint8Array)) {
      throw new Error(`${file}: image ${i} is ${typeName(image)}, not bytes`);
    }
  });
  same.forEach((s, i) => {
    if (typeof s !== 'boolean') {
      throw new Error(`${file}: issame[${i}] is ${typeName(s)}, not a boolean`);
    }
  });
  if (same.length === 0 || images.length !== 2 * same.length) {
    throw new Error(
      `${file}: ${images.length} images for ${same.length} pairs; expected two images per pair`,
    );
  }
  return { images: images as Uint8Array[], same: same as boolean[] };
}

/** readVerificationBin's work (insightface-bin.ts), on the thread that calls it. */
export async function parseVerificationBinFile(file: string): Promise<VerificationBin> {
  const bytes = await readRegularFile(file, { noun: 'verification file' });
  return parseVerificationBin(bytes, file);
}

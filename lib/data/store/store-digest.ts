import * as crypto from 'node:crypto';
import { readRegularFile } from '../../util/regular-file';
import type { LandmarksFile } from '../landmarks-file';
import type { DeterministicTransform } from '../transforms/transform';
import type { ImageSource } from './image-source';
import { DECODER_VERSION } from '../image-decoder';
import { STORE_VERSION } from './manifest';

/**
 * sha256 of everything that decides a store's bytes: the layout version, the source's
 * fingerprint and labels, the decoder and its pixel limit, the transforms, the landmark file's
 * content and a requested shard size.
 * Not the bad-image policy: a store made without skips is valid under either.
 */
export async function storeDigest(
  source: ImageSource,
  transforms: readonly DeterministicTransform[],
  landmarks: LandmarksFile | undefined,
  options: { imagesPerShard?: number; maxPixels: number },
): Promise<string> {
  const hash = crypto.createHash('sha256');
  hash.update(
    JSON.stringify({
      store: STORE_VERSION,
      decoder: DECODER_VERSION,
      maxPixels: String(options.maxPixels), // which images are refused; JSON has no Infinity
      kind: source.kind,
      images: source.length,
      transforms: transforms.map((t) => t.spec()),
      landmarks: landmarks
        ? crypto
            .createHash('sha256')
            .update(await readRegularFile(landmarks.file, { noun: 'landmark file' }))
            .digest('hex')
        : null,
      imagesPerShard: options.imagesPerShard ?? null,
    }),
  );
  hash.update(JSON.stringify(await source.fingerprint()));
  hash.update(
    new Uint8Array(source.labels.buffer, source.labels.byteOffset, source.labels.byteLength),
  );
  return hash.digest('hex');
}

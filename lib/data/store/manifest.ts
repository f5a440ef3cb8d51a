// The image store's layout on disk, in one folder:
//   manifest.json      this file's StoreManifest: shape, counts, digest of the inputs, one record
//                      per complete shard (with its CRC-32), skipped images, what the source's
//                      scan left out; rewritten atomically
//                      after every shard, `complete` once the last shard and the labels are in
//   shard-00000.bin    images 0 .. imagesPerShard-1, raw uint8 height x width x 3 (HWC, RGB) each,
//   shard-00001.bin    back to back, nothing else; every shard holds imagesPerShard images but
//   ...                the last, which holds the rest
//   labels.bin         n int32 little-endian labels, written with the last shard
// Every file is written atomically (lib/util/atomic-write.ts: a synced `.<name>.<pid>.<n>.tmp`
// renamed into place); a `.tmp` file is always a leftover of an interrupted run.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write';
import { readRegularFile } from '../../util/regular-file';
import type { SkippedImage } from '../image-cache';
import type { SkippedEntry } from '../image-folder-dataset';
import type { TransformSpec } from '../transforms/transform';

export const STORE_FORMAT = 'sphereface-image-store';
/** Bumped when the layout or the decoded pixels change: stores of another version are rebuilt. */
export const STORE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const LABELS_FILE = 'labels.bin';
/** Shards hold as many images as fit in this many bytes (at least one). */
export const SHARD_BYTES = 64 * 2 ** 20;
/** The most a shard may hold when imagesPerShard is given: each is one buffer in memory. */
export const MAX_SHARD_BYTES = 2 ** 31;

export function shardFile(k: number): string {
  return `shard-${String(k).padStart(5, '0')}.bin`;
}

export const LOCK_FILE = 'prepare.lock';

/** Names a store owns in its folder (and may delete); anything else there is left alone. */
export function isStoreFile(name: string): boolean {
  return /^shard-\d{5,}\.bin$/.test(name) || name === LABELS_FILE || name === MANIFEST_FILE;
}

/**
 * Refuses a folder where manifest.json or labels.bin is something else's, which prepare would
 * replace. A store's manifest, however damaged, is kept to be repaired: one that names the
 * store's format, or one that is not JSON beside shards. Its labels are those beside either.
 */
export async function refuseForeignFiles(dir: string): Promise<void> {
  const names = await fs.readdir(dir);
  const shards = names.some((name) => /^shard-\d{5,}\.bin$/.test(name));
  const refuse = (file: string, what: string, why: string): never => {
    throw new Error(
      `${path.join(dir, file)} is not an image store's ${what} (${why}); prepare would replace ` +
        'it: move it, or prepare into another folder',
    );
  };
  if (names.includes(MANIFEST_FILE)) {
    const why = await notStoreManifest(path.join(dir, MANIFEST_FILE), shards);
    if (why) refuse(MANIFEST_FILE, 'manifest', why);
  } else if (names.includes(LABELS_FILE) && !shards) {
    refuse(LABELS_FILE, 'labels', 'no store manifest or shards beside it');
  }
}

/** Why `file` is not a store's manifest; undefined when it is one. */
async function notStoreManifest(file: string, shards: boolean): Promise<string | undefined> {
  let text: string;
  try {
    text = (await readRegularFile(file)).toString('utf8');
  } catch (err) {
    return shards ? undefined : `${(err as Error).message}, and no shards beside it`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Cut short by a full disk or garbled: the store's, if anything says so.
    return text.includes(STORE_FORMAT) || shards ? undefined : 'not JSON, and no shards beside it';
  }
  const format = isObject(parsed) ? parsed.format : undefined;
  return format === STORE_FORMAT ? undefined : `format is ${String(format)}`;
}

/** Temporary files of the store's writers: always leftovers of an interrupted run. */
export function isTempFile(name: string): boolean {
  // writeFileAtomic's temporaries of the store's own files.
  return /^\.(shard-\d{5,}\.bin|manifest\.json|labels\.bin)\..*\.tmp$/.test(name);
}

/** One complete shard and the source images it was made from. */
export interface ShardRecord {
  file: string;
  images: number;
  crc32: number;
  /** Source images sourceStart..sourceEnd-1 made it (bad ones skipped). */
  sourceStart: number;
  sourceEnd: number;
}

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  version: number;
  /** All shards and the labels are written. */
  complete: boolean;
  /** sha256 of the source's fingerprint, the transforms, landmarks and the layout. */
  digest: string;
  source: { kind: string; location: string; images: number };
  transforms: TransformSpec[];
  height: number;
  width: number;
  imagesPerShard: number;
  /** Images in the complete shards (all of them once complete). */
  images: number;
  classes: number;
  /** Written once complete (they can be many: 85k for MS1M). */
  classNames: string[];
  shards: ShardRecord[];
  /** Written once complete. */
  labels?: { file: string; crc32: number };
  /** Source images left out (onBadImage 'skip'), in source order. */
  skipped: SkippedImage[];
  /** What the source's scan left out before any decoding (special files, folder links not
   * followed); absent in stores prepared before it was recorded. */
  leftOut?: SkippedEntry[];
}

function fail(file: string, what: string): never {
  throw new Error(`${file}: not a valid image store manifest (${what})`);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSkipped(v: unknown): v is SkippedImage {
  return (
    isObject(v) && isCount(v.index) && typeof v.path === 'string' && typeof v.reason === 'string'
  );
}

function isLeftOut(v: unknown): v is SkippedEntry {
  return isObject(v) && typeof v.path === 'string' && typeof v.reason === 'string';
}

/** Parses and checks a manifest's text; errors name the file and the field. */
export function parseManifest(text: string, file: string): StoreManifest {
  let m: StoreManifest;
  try {
    m = JSON.parse(text) as StoreManifest;
  } catch (err) {
    fail(file, `bad JSON: ${(err as Error).message}`);
  }
  if (typeof m !== 'object' || m === null) fail(file, 'not an object');
  if (m.format !== STORE_FORMAT) fail(file, `format is ${String(m.format)}`);
  if (m.version !== STORE_VERSION) {
    throw new Error(
      `${file}: image store version ${String(m.version)}, this library reads version ${STORE_VERSION}; prepare the store again`,
    );
  }
  for (const key of ['height', 'width', 'imagesPerShard'] as const)
    if (!isCount(m[key]) || m[key] === 0) fail(file, `${key} is ${String(m[key])}`);
  for (const key of ['images', 'classes'] as const)
    if (!isCount(m[key])) fail(file, `${key} is ${String(m[key])}`);
  if (typeof m.digest !== 'string') fail(file, 'no digest');
  if (typeof m.complete !== 'boolean') fail(file, 'complete is not true or false');
  const source: unknown = m.source;
  if (
    !isObject(source) ||
    typeof source.kind !== 'string' ||
    typeof source.location !== 'string' ||
    !isCount(source.images)
  )
    fail(file, 'source');
  if (!Array.isArray(m.transforms)) fail(file, 'transforms is not a list');
  if (!Array.isArray(m.shards) || !Array.isArray(m.skipped) || !Array.isArray(m.classNames))
    fail(file, 'shards, skipped or classNames is not a list');
  if (!m.classNames.every((name) => typeof name === 'string')) fail(file, 'a class name');
  if (!m.skipped.every(isSkipped)) fail(file, 'a skipped image');
  if (m.leftOut !== undefined && !(Array.isArray(m.leftOut) && m.leftOut.every(isLeftOut)))
    fail(file, 'leftOut');
  let images = 0;
  let sourceEnd = 0;
  m.shards.forEach((s: unknown, k) => {
    if (
      !isObject(s) ||
      s.file !== shardFile(k) ||
      !isCount(s.images) ||
      !isCount(s.crc32) ||
      s.sourceStart !== sourceEnd ||
      !isCount(s.sourceEnd) ||
      s.sourceEnd < sourceEnd
    )
      fail(file, `shard record ${k}`);
    const last = k === m.shards.length - 1;
    if (s.images !== m.imagesPerShard && !(last && m.complete && s.images > 0))
      fail(file, `shard ${k} holds ${String(s.images)} images, not ${m.imagesPerShard}`);
    images += s.images as number;
    sourceEnd = s.sourceEnd as number;
  });
  if (images !== m.images) fail(file, `the shards hold ${images} images, not ${m.images}`);
  if (
    m.complete &&
    (!isObject(m.labels) || m.labels.file !== LABELS_FILE || !isCount(m.labels.crc32))
  )
    fail(file, 'a complete store without labels');
  return m;
}

/** The manifest in `dir`, or undefined when there is none. */
export async function readManifest(dir: string): Promise<StoreManifest | undefined> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = (await readRegularFile(file, { noun: 'image store manifest' })).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseManifest(text, file);
}

export function writeManifest(dir: string, manifest: StoreManifest): Promise<void> {
  return writeFileAtomic(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest), {
    ownFile: true,
  });
}

import type { SkippedEntry } from '../image-folder-dataset';
import type { FivePoints } from '../transforms/raw-image';

/** One image of a source: a file path, or encoded bytes from a container file. */
export interface SourceImage {
  /** A file path, or `container#record` for an image inside a container (used in errors). */
  name: string;
  label: number;
  landmarks?: FivePoints;
  /** Encoded bytes, for images inside a container file; without them `name` is read. */
  bytes?: Uint8Array;
  /** Where the source names it, for messages: `list.txt:3`. */
  where?: string;
}

/**
 * A labelled set of encoded images that `prepareImageStore` decodes into a store: a folder per
 * identity, a file list, an insightface RecordIO file.
 */
export interface ImageSource {
  /** What the images come from, for messages: 'folder', 'list', 'recordio'. */
  readonly kind: string;
  /** The folder or file, resolved. */
  readonly location: string;
  readonly length: number;
  readonly labels: Int32Array;
  readonly classNames: readonly string[];
  /** What a scan of the source left out (special files, folder links it does not follow). */
  readonly leftOut?: readonly SkippedEntry[];
  /** Everything that decides the images' content (paths, sizes, mtimes...), JSON-able: hashed
   * into the store's digest, so a changed source makes a stale store. */
  fingerprint(): Promise<unknown>;
  /** Images start..end-1 in order (end <= length); bytes included for container sources. */
  read(start: number, end: number): Promise<SourceImage[]>;
  /** Releases open files. */
  close(): Promise<void>;
}

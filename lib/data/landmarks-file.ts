import * as path from 'node:path';
import { parseNumbers, readListLines } from './list-file';
import type { FivePoints } from './transforms/raw-image';
import { expectPath } from '../util/expect';
import { expectOptions } from '../util/option-keys';

/** Forward slashes, no leading './': how relative paths are compared. */
export function normaliseRelative(p: string): string {
  return p.split(path.sep).join('/').replace(/\\/g, '/').replace(/^\.\//, '');
}

/**
 * A landmark list, one image per line: `<relative path>\t x1 y1 ... x5 y5` (the public
 * lfw_landmark.txt / casia_landmark.txt form; a label between the path and the numbers, as in
 * casia_landmark.txt, is allowed and ignored). Paths are relative to the dataset root.
 */
export class LandmarksFile {
  readonly file: string;
  private readonly points = new Map<string, FivePoints>();

  constructor(file: string) {
    this.file = expectPath(file, 'file', 'a landmark file path');
    const firstLine = new Map<string, number>();
    let form: { fields: number; line: number } | undefined;
    for (const { line, text } of readListLines(file, 'LandmarksFile')) {
      const tab = text.indexOf('\t');
      const [rel, rest] =
        tab >= 0 ? [text.slice(0, tab).trim(), text.slice(tab + 1)] : splitFirst(text);
      const fields = rest
        .trim()
        .split(/\s+/)
        .filter((f) => f !== '');
      if (fields.length < 10) {
        throw new Error(
          `${file}:${line}: expected 10 landmark numbers (x1 y1 ... x5 y5) after the path but found ${fields.length}`,
        );
      }
      if (fields.length > 11) {
        throw new Error(
          `${file}:${line}: expected 10 landmark numbers (optionally after a label) but found ${fields.length}`,
        );
      }
      // One form a file: a stray number on one line would otherwise pass as a label and shift
      // every coordinate.
      form ??= { fields: fields.length, line };
      if (fields.length !== form.fields) {
        const described = (n: number) =>
          n === 11 ? '11 numbers (a label, then x1 ... y5)' : '10 numbers';
        throw new Error(
          `${file}:${line}: ${described(fields.length)} after the path, where line ${form.line} ` +
            `has ${described(form.fields)}; every line of a landmark file has one form`,
        );
      }
      const numbers = parseNumbers(fields.slice(fields.length - 10), file, line, 'landmarks');
      const key = normaliseRelative(rel);
      const first = firstLine.get(key);
      if (first !== undefined) {
        throw new Error(`${file}:${line}: ${rel} is listed again (first on line ${first})`);
      }
      firstLine.set(key, line);
      this.points.set(key, numbers);
    }
  }

  get size(): number {
    return this.points.size;
  }

  get(relativePath: string): FivePoints | undefined {
    return this.points.get(normaliseRelative(relativePath));
  }

  /**
   * Landmarks for absolute `paths` under `root`, in order. `required` (the default) throws for
   * the first image the file does not list; otherwise those entries are undefined.
   */
  forPaths(
    root: string,
    paths: readonly string[],
    options: { required?: boolean } = {},
  ): (FivePoints | undefined)[] {
    expectOptions(options, 'options', { required: true });
    const required = options.required ?? true;
    return paths.map((p) => {
      const rel = normaliseRelative(path.relative(root, p));
      const found = this.points.get(rel);
      if (!found && required) throw new Error(`${this.file}: no landmarks for ${rel} (image ${p})`);
      return found;
    });
  }
}

function splitFirst(text: string): [string, string] {
  const m = /^(\S+)\s+([\s\S]*)$/.exec(text);
  return m ? [m[1], m[2]] : [text, ''];
}

import { readListLines } from './list-file';

/** One line of a pairs file, before names are turned into image paths. */
export interface PairLine {
  nameA: string;
  indexA: number;
  nameB: string;
  indexB: number;
  same: boolean;
  fold: number;
  line: number;
}

/**
 * LFW's verification pairs. `pairs.txt`: a header `folds n`, then per fold n matched lines
 * `name i j` followed by n mismatched lines `name1 i name2 j` (fold f holds lines
 * 2nf+2 .. 2n(f+1)+1 of the file, i.e. pairs 2nf+1..2n(f+1)). `pairsDevTest.txt`/`pairsDevTrain.txt`:
 * a header `n` and one set of n matched then n mismatched lines (fold 0). Tabs or spaces.
 */
export class PairsFile {
  readonly file: string;
  readonly folds: number;
  readonly perFold: number;
  readonly pairs: PairLine[] = [];

  constructor(file: string) {
    this.file = file;
    const lines = readListLines(file, 'PairsFile');
    if (lines.length === 0) throw new Error(`${file}: empty pairs file`);
    const header = lines[0].text.split(/\s+/);
    const counts = header.map(Number);
    if (
      !(header.length === 1 || header.length === 2) ||
      !header.every((h) => /^\d+$/.test(h)) ||
      counts.some((c) => c < 1)
    ) {
      throw new Error(
        `${file}:${lines[0].line}: expected a header 'folds pairsPerFold' (e.g. '10 300') or 'pairs' (e.g. '500') but found '${lines[0].text}'`,
      );
    }
    this.folds = header.length === 2 ? counts[0] : 1;
    this.perFold = header.length === 2 ? counts[1] : counts[0];
    const expected = this.folds * 2 * this.perFold;
    const body = lines.slice(1);
    if (body.length > expected) {
      // A line given twice is the usual cause: named, or else the first line past the promise.
      const firstLine = new Map<string, number>();
      let repeat: { line: number; first: number } | undefined;
      for (const { line, text } of body) {
        const first = firstLine.get(text);
        if (first !== undefined) {
          repeat = { line, first };
          break;
        }
        firstLine.set(text, line);
      }
      const at = repeat ? repeat.line : body[expected].line;
      const why = repeat ? `repeats line ${repeat.first}; ` : '';
      throw new Error(
        `${file}:${at}: ${why}the header '${lines[0].text}' promises ${expected} pairs but the ` +
          `file has ${body.length - expected} lines too many`,
      );
    }
    body.forEach(({ line, text }, k) => {
      const fold = Math.floor(k / (2 * this.perFold));
      const same = k % (2 * this.perFold) < this.perFold;
      const f = text.split(/\s+/);
      const index = (s: string) => {
        if (!/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s)))
          throw new Error(`${file}:${line}: expected a positive image number but found '${s}'`);
        return Number(s);
      };
      // A name is one folder under the root: a path in its place would reach outside it.
      const name = (s: string) => {
        if (s === '.' || s === '..' || /[/\\]/.test(s))
          throw new Error(`${file}:${line}: expected an identity (a folder name) but found '${s}'`);
        return s;
      };
      if (same) {
        if (f.length !== 3) {
          throw new Error(
            `${file}:${line}: expected a matched pair 'name i j' (fold ${fold + 1}) but found ${f.length} fields: '${text}'`,
          );
        }
        // Scored 1 whatever the model, it would only flatter the figure.
        if (index(f[1]) === index(f[2])) {
          throw new Error(
            `${file}:${line}: a matched pair needs two photos but '${text}' pairs photo ${f[1]} of ${f[0]} with itself`,
          );
        }
        this.pairs.push({
          nameA: name(f[0]),
          indexA: index(f[1]),
          nameB: f[0],
          indexB: index(f[2]),
          same,
          fold,
          line,
        });
      } else {
        if (f.length !== 4) {
          throw new Error(
            `${file}:${line}: expected a mismatched pair 'name1 i name2 j' (fold ${fold + 1}) but found ${f.length} fields: '${text}'`,
          );
        }
        if (f[0] === f[2]) {
          throw new Error(
            `${file}:${line}: a mismatched pair needs two people but '${text}' names ${f[0]} twice (fold ${fold + 1})`,
          );
        }
        this.pairs.push({
          nameA: name(f[0]),
          indexA: index(f[1]),
          nameB: name(f[2]),
          indexB: index(f[3]),
          same,
          fold,
          line,
        });
      }
    });
    // Checked after the lines there are, so a malformed one is named rather than counted.
    if (body.length < expected) {
      throw new Error(
        `${file}: the header '${lines[0].text}' promises ${expected} pairs but the file ends ` +
          `after ${body.length} pairs`,
      );
    }
  }
}

/**
 * The text of a pairs.txt holding `pairs` (PairLine's fields; `fold` and `line` are not read):
 * the header `folds perFold`, then per fold its matched lines, then its mismatched lines, in the
 * order given, tab-separated.
 */
export function formatPairsFile(
  pairs: readonly Omit<PairLine, 'fold' | 'line'>[],
  folds: number,
  perFold: number,
): string {
  const lines = [`${folds}\t${perFold}`];
  for (const p of pairs) {
    lines.push(
      p.same
        ? `${p.nameA}\t${p.indexA}\t${p.indexB}`
        : `${p.nameA}\t${p.indexA}\t${p.nameB}\t${p.indexB}`,
    );
  }
  return lines.join('\n') + '\n';
}

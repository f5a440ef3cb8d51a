import { readRegularFileSync } from '../util/regular-file';

/** A text file's non-blank lines with their 1-based numbers; '#' starts a comment line. */
export function readListLines(file: string, who: string): { line: number; text: string }[] {
  let bytes: Buffer;
  try {
    bytes = readRegularFileSync(file);
  } catch (err) {
    throw new Error(`${who}: ${(err as Error).message}`);
  }
  let text: string;
  try {
    text = bytes.toString('utf8');
  } catch {
    throw new Error(`${who}: ${file} is too large to read as text (${bytes.length} bytes)`);
  }
  const out: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t !== '' && !t.startsWith('#')) out.push({ line: i + 1, text: t });
  });
  return out;
}

/** Parses whitespace-separated numbers, naming file and line on failure. */
export function parseNumbers(
  fields: string[],
  file: string,
  line: number,
  what: string,
): Float64Array {
  const out = new Float64Array(fields.length);
  fields.forEach((f, i) => {
    const v = Number(f);
    if (f === '' || !Number.isFinite(v))
      throw new Error(`${file}:${line}: ${what}: '${f}' is not a number`);
    out[i] = v;
  });
  return out;
}

// Property-based testing of the parsers with fast-check: valid inputs made at random, then
// mutated (bytes flipped, cut, inserted; lines shuffled, dropped, doubled; fields replaced by
// random strings and huge numbers). Every case must give a result or an Error that names the
// input, within CASE_MS, never another kind of failure.
import * as fc from 'fast-check';

/**
 * Cases per property: `base`, scaled by SPHEREFACE_PROPERTY_SCALE (e.g. 10 for a long run).
 * The counts are in the test names.
 */
export function runs(base: number): number {
  const scale = Number(process.env.SPHEREFACE_PROPERTY_SCALE ?? 1);
  return Math.max(1, Math.round(base * (scale > 0 ? scale : 1)));
}

/** fast-check's settings: a fixed seed unless SPHEREFACE_PROPERTY_SEED says otherwise. */
export function settings(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.SPHEREFACE_PROPERTY_SEED;
  return { numRuns, seed: seed === undefined ? 17 : Number(seed), endOnFailure: true };
}

/** The longest a single case may take (the inputs are at most tens of kilobytes). */
export const CASE_MS = 2000;

export type Outcome<T> = { ok: T; error?: undefined } | { ok?: undefined; error: Error };

/**
 * Runs one case and returns its value or its Error. Throws (failing the property) when it
 * throws anything but an Error whose message contains `name`, or runs over `limitMs`.
 */
export async function attempt<T>(
  name: string,
  run: () => T | Promise<T>,
  limitMs = CASE_MS,
): Promise<Outcome<T>> {
  const start = performance.now();
  let outcome: Outcome<T>;
  try {
    outcome = { ok: await run() };
  } catch (error) {
    if (!(error instanceof Error)) throw new Error(`threw a non-Error: ${String(error)}`);
    if (!error.message.includes(name)) {
      throw new Error(`an error that does not name ${name}: ${error.stack ?? error.message}`);
    }
    outcome = { error };
  }
  const ms = performance.now() - start;
  if (ms > limitMs) throw new Error(`the case took ${ms.toFixed(0)} ms (limit ${limitMs} ms)`);
  return outcome;
}

/** Peak RSS of this process so far, in MB (never decreases). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Numbers as text that break naive parsing: huge, tiny, signed, hex, NaN, very long. */
export const hugeNumber: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '1e308',
    '1e309',
    '-1e309',
    '9007199254740993',
    '99999999999999999999999999',
    '4294967296',
    '2147483648',
    '16777216',
    '-1',
    '-0',
    '0x1F',
    '1_000',
    'NaN',
    'Infinity',
    '1'.repeat(400),
    '0.' + '0'.repeat(400) + '1',
  ),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String),
  fc.double().map(String),
);

/** A field's replacement: a random string (any code points, whitespace, controls) or a number. */
export const fieldValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  hugeNumber,
);

export interface Mutation {
  label: string;
  apply(bytes: Uint8Array): Uint8Array;
}

/** A mutation that fast-check prints by its label in a counterexample. */
export function mutation(label: string, apply: (bytes: Uint8Array) => Uint8Array): Mutation {
  return { label, apply, [fc.toStringMethod]: () => label } as Mutation;
}

const at = (n: number, length: number) => (length === 0 ? 0 : n % length);

/** A little-endian word that means "huge" or "negative" to a binary length field. */
const extremeWord = fc.constantFrom(0xffffffff, 0x7fffffff, 0x80000000, 0x1fffffff, 0x20000000, 0);

/** Byte-level damage to any file. */
export const byteMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 })
    .map((flips) =>
      mutation(`flip ${flips.length} bytes`, (b: Uint8Array) => {
        const out = b.slice();
        for (const [i, x] of flips) if (out.length) out[at(i, out.length)] ^= x;
        return out;
      }),
    ),
  fc
    .nat()
    .map((n) => mutation(`truncate at ${n}`, (b: Uint8Array) => b.slice(0, at(n, b.length + 1)))),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([i, bytes]) =>
    mutation(`insert ${bytes.length} bytes`, (b: Uint8Array) => {
      const k = at(i, b.length + 1);
      return Buffer.concat([b.subarray(0, k), bytes, b.subarray(k)]);
    }),
  ),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 256 })).map(([i, n]) =>
    mutation(`delete ${n} bytes`, (b: Uint8Array) => {
      const k = at(i, b.length + 1);
      return Buffer.concat([b.subarray(0, k), b.subarray(k + n)]);
    }),
  ),
  fc.tuple(fc.nat(), extremeWord).map(([i, word]) =>
    mutation(`write 0x${word.toString(16)}`, (b: Uint8Array) => {
      const out = Buffer.from(b);
      if (out.length >= 4) out.writeUInt32LE(word, at(i, out.length - 3));
      return new Uint8Array(out);
    }),
  ),
  fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 512 })).map(([from, to, n]) =>
    mutation(`copy ${n} bytes`, (b: Uint8Array) => {
      const out = b.slice();
      const src = at(from, b.length);
      const dst = at(to, b.length);
      const length = Math.min(n, b.length - src, b.length - dst);
      out.set(b.subarray(src, src + length), dst);
      return out;
    }),
  ),
  fc
    .uint8Array({ maxLength: 2048 })
    .map((bytes) => mutation(`replace with ${bytes.length} random bytes`, () => bytes)),
);

function linesOf(b: Uint8Array): string[] {
  return Buffer.from(b).toString('utf8').split('\n');
}

function textBytes(lines: string[]): Uint8Array {
  return new Uint8Array(Buffer.from(lines.join('\n'), 'utf8'));
}

/** Line- and field-level damage to a text file. */
export const lineMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.array(fc.nat(), { minLength: 1, maxLength: 64 }).map((keys) =>
    mutation('shuffle lines', (b: Uint8Array) => {
      const lines = linesOf(b);
      const key = (i: number) => keys[i % keys.length] + i / 1e6;
      return textBytes(
        lines
          .map((l, i) => [l, key(i)] as const)
          .sort((x, y) => x[1] - y[1])
          .map(([l]) => l),
      );
    }),
  ),
  fc.tuple(fc.nat(), fc.nat(), fieldValue).map(([line, field, value]) =>
    mutation(`replace a field by ${JSON.stringify(value)}`, (b: Uint8Array) => {
      const lines = linesOf(b);
      const i = at(line, lines.length);
      const fields = lines[i].split(/(\s+)/);
      const words = fields.map((_, k) => (k % 2 === 0 ? k : -1)).filter((k) => k >= 0);
      if (words.length) fields[words[at(field, words.length)]] = value;
      lines[i] = fields.join('');
      return textBytes(lines);
    }),
  ),
  fc.tuple(fc.nat(), fieldValue).map(([line, value]) =>
    mutation(`append a field ${JSON.stringify(value)}`, (b: Uint8Array) => {
      const lines = linesOf(b);
      const i = at(line, lines.length);
      lines[i] = `${lines[i]} ${value}`;
      return textBytes(lines);
    }),
  ),
  fc.nat().map((line) =>
    mutation('drop a line', (b: Uint8Array) => {
      const lines = linesOf(b);
      lines.splice(at(line, lines.length), 1);
      return textBytes(lines);
    }),
  ),
  fc.nat().map((line) =>
    mutation('double a line', (b: Uint8Array) => {
      const lines = linesOf(b);
      const i = at(line, lines.length);
      lines.splice(i, 0, lines[i]);
      return textBytes(lines);
    }),
  ),
  fc.tuple(fc.nat(), fc.array(fieldValue, { maxLength: 14 })).map(([line, fields]) =>
    mutation('insert a random line', (b: Uint8Array) => {
      const lines = linesOf(b);
      lines.splice(at(line, lines.length + 1), 0, fields.join(' '));
      return textBytes(lines);
    }),
  ),
);

/** One to four mutations applied in turn, byte- or line-level. */
export function mutations(kinds: fc.Arbitrary<Mutation>[]): fc.Arbitrary<Mutation[]> {
  return fc.array(fc.oneof(...kinds), { minLength: 1, maxLength: 4 });
}

export function applyAll(bytes: Uint8Array, list: readonly Mutation[]): Uint8Array {
  return list.reduce((b, m) => m.apply(b), bytes);
}

/** Separators the text formats accept between fields: spaces and tabs. */
export const separator: fc.Arbitrary<string> = fc.stringMatching(/^[ \t]{1,3}$/);

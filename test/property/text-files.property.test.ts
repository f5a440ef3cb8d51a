// Property tests of the text parsers: pairs files, file lists and landmark files. Random valid
// files (written here, field by field) must parse to exactly what was written; the same files
// damaged must parse to something well-formed or fail with an error naming the file.
import { expect } from 'chai';
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileListDataset } from '../../lib/data/file-list-dataset';
import { LandmarksFile } from '../../lib/data/landmarks-file';
import { PairsFile } from '../../lib/data/pairs-file';
import { MAX_CLASSES } from '../../lib/data/types';
import { tempDir } from '../data/helpers';
import {
  applyAll,
  attempt,
  byteMutation,
  lineMutation,
  mutations,
  peakRssMb,
  runs,
  separator,
  settings,
} from './property';

const identity = fc.stringMatching(/^[A-Z][A-Za-z_-]{0,11}$/);
const imageNumber = fc.integer({ min: 1, max: 9999 });
/** Lines a parser skips: blank, whitespace, comments. */
const filler = fc.constantFrom('', '   ', '\t', '# a comment', '  # indented comment');

interface Lines {
  /** The file's lines, the parsed ones with their 1-based line numbers. */
  text: string;
  numbers: number[];
}

/** Joins content lines with random filler lines between them and random line endings. */
function layout(content: string[], fillers: string[], crlf: boolean): Lines {
  const out: string[] = [];
  const numbers: number[] = [];
  content.forEach((line, i) => {
    const extra = fillers[i % Math.max(1, fillers.length)];
    if (fillers.length && i % 3 === 1) out.push(extra);
    out.push(line);
    numbers.push(out.length);
  });
  return { text: out.join(crlf ? '\r\n' : '\n') + '\n', numbers };
}

const pairsSpec = fc
  .record({
    folds: fc.integer({ min: 1, max: 3 }),
    perFold: fc.integer({ min: 1, max: 3 }),
    tenFold: fc.boolean(),
  })
  .chain(({ folds, perFold, tenFold }) => {
    const f = tenFold ? folds : 1;
    const n = f * 2 * perFold;
    return fc.record({
      folds: fc.constant(f),
      perFold: fc.constant(perFold),
      header2: fc.constant(tenFold),
      // Two photos in a matched pair, two people in a mismatched one.
      pairs: fc.array(
        fc
          .tuple(identity, imageNumber, identity, imageNumber)
          .filter(([a, i, b, j]) => a !== b && i !== j),
        { minLength: n, maxLength: n },
      ),
      seps: fc.array(separator, { minLength: 4, maxLength: 4 }),
      fillers: fc.array(filler, { maxLength: 4 }),
      crlf: fc.boolean(),
    });
  });

// (+0: String(-0) is "0".)
const numberText = fc
  .double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 })
  .map((x) => x + 0);

const listSpec = fc.record({
  // Each image once: one listed twice is refused.
  entries: fc.uniqueArray(
    fc.record({
      path: fc.stringMatching(/^[a-z0-9_]{1,8}(\/[a-z0-9_]{1,8}){0,2}\.jpg$/),
      label: fc.integer({ min: 0, max: 300 }),
      landmarks: fc.option(fc.array(numberText, { minLength: 10, maxLength: 10 }), {
        nil: undefined,
      }),
    }),
    { minLength: 1, maxLength: 12, selector: (e) => e.path },
  ),
  sep: separator,
  fillers: fc.array(filler, { maxLength: 4 }),
  crlf: fc.boolean(),
});

const landmarkSpec = fc.record({
  entries: fc.uniqueArray(
    fc.record({
      path: fc.stringMatching(/^[A-Za-z0-9_]{1,8}\/[A-Za-z0-9_]{1,8}\.jpg$/),
      label: fc.integer({ min: 0, max: 99 }),
      points: fc.array(numberText, { minLength: 10, maxLength: 10 }),
      tab: fc.boolean(),
    }),
    { minLength: 1, maxLength: 10, selector: (e) => e.path },
  ),
  // casia_landmark.txt's form, a label before the points, on every line or on none.
  labelled: fc.boolean(),
  fillers: fc.array(filler, { maxLength: 4 }),
  crlf: fc.boolean(),
});

type PairsCase = typeof pairsSpec extends fc.Arbitrary<infer T> ? T : never;
type ListCase = typeof listSpec extends fc.Arbitrary<infer T> ? T : never;
type LandmarkCase = typeof landmarkSpec extends fc.Arbitrary<infer T> ? T : never;

function pairsText(c: PairsCase): Lines {
  const [s0, s1, s2, s3] = c.seps;
  const header = c.header2 ? `${c.folds}${s0}${c.perFold}` : `${c.perFold}`;
  const lines = c.pairs.map(([a, i, b, j], k) =>
    k % (2 * c.perFold) < c.perFold ? `${a}${s1}${i}${s2}${j}` : `${a}${s1}${i}${s2}${b}${s3}${j}`,
  );
  return layout([header, ...lines], c.fillers, c.crlf);
}

function listText(c: ListCase): Lines {
  return layout(
    c.entries.map((e) => [e.path, String(e.label), ...(e.landmarks ?? []).map(String)].join(c.sep)),
    c.fillers,
    c.crlf,
  );
}

function landmarkText(c: LandmarkCase): Lines {
  return layout(
    c.entries.map((e) => {
      const numbers = [...(c.labelled ? [e.label] : []), ...e.points].join(' ');
      return `${e.path}${e.tab ? '\t' : ' '}${numbers}`;
    }),
    c.fillers,
    c.crlf,
  );
}

/** Whether a parsed pairs file is well-formed, whatever its content. */
function checkPairs(p: PairsFile): void {
  expect(p.pairs).to.have.length(p.folds * 2 * p.perFold);
  for (const pair of p.pairs) {
    for (const i of [pair.indexA, pair.indexB])
      expect(Number.isSafeInteger(i) && i >= 1).to.equal(true);
    for (const n of [pair.nameA, pair.nameB]) expect(n).to.not.match(/[/\\]|^\.\.?$/);
    expect(pair.fold).to.be.within(0, p.folds - 1);
  }
}

function checkList(d: FileListDataset): void {
  expect(d.labels.length).to.equal(d.paths.length);
  expect(d.landmarks.length).to.equal(d.paths.length);
  let max = 0;
  for (const l of d.labels) {
    expect(l).to.be.within(0, MAX_CLASSES - 1);
    max = Math.max(max, l);
  }
  expect(d.classes).to.equal(max + 1);
  for (const l of d.landmarks) {
    if (l) expect(Array.from(l).every(Number.isFinite) && l.length === 10).to.equal(true);
  }
}

describe('text parsers under random and damaged input (fast-check)', function () {
  this.timeout(600_000);
  const dir = tempDir('sphereface-property-text-');
  let n = 0;
  const write = (bytes: Uint8Array | string) => {
    const file = path.join(dir, `case-${n++}.txt`);
    fs.writeFileSync(file, bytes);
    return file;
  };
  const damage = mutations([byteMutation, lineMutation, lineMutation]);

  it(`PairsFile reads ${runs(300)} random valid files exactly`, async () => {
    await fc.assert(
      fc.asyncProperty(pairsSpec, async (c) => {
        const { text, numbers } = pairsText(c);
        const file = write(text);
        const parsed = await attempt(file, () => new PairsFile(file));
        expect(parsed.error).to.equal(undefined);
        const p = parsed.ok!;
        expect([p.folds, p.perFold]).to.deep.equal([c.folds, c.perFold]);
        expect(p.pairs).to.deep.equal(
          c.pairs.map(([a, i, b, j], k) => {
            const same = k % (2 * c.perFold) < c.perFold;
            return {
              nameA: a,
              indexA: i,
              nameB: same ? a : b,
              indexB: j,
              same,
              fold: Math.floor(k / (2 * c.perFold)),
              line: numbers[k + 1],
            };
          }),
        );
      }),
      settings(runs(300)),
    );
  });

  it(`PairsFile gives a well-formed result or an error naming the file for ${runs(1000)} damaged files`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(pairsSpec, damage, async (c, list) => {
        const file = write(applyAll(new TextEncoder().encode(pairsText(c).text), list));
        const parsed = await attempt(file, () => new PairsFile(file));
        if (parsed.ok) checkPairs(parsed.ok);
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  it(`FileListDataset reads ${runs(300)} random valid lists exactly`, async () => {
    await fc.assert(
      fc.asyncProperty(listSpec, async (c) => {
        const file = write(listText(c).text);
        const parsed = await attempt(file, () => new FileListDataset(file));
        expect(parsed.error).to.equal(undefined);
        const d = parsed.ok!;
        expect(d.paths).to.deep.equal(c.entries.map((e) => path.join(dir, e.path)));
        expect(Array.from(d.labels)).to.deep.equal(c.entries.map((e) => e.label));
        expect(d.classes).to.equal(Math.max(...c.entries.map((e) => e.label)) + 1);
        expect(d.landmarks.map((l) => (l ? Array.from(l) : undefined))).to.deep.equal(
          c.entries.map((e) => e.landmarks),
        );
      }),
      settings(runs(300)),
    );
  });

  it(`FileListDataset gives a well-formed result or an error naming the file for ${runs(1000)} damaged lists`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(listSpec, damage, async (c, list) => {
        const file = write(applyAll(new TextEncoder().encode(listText(c).text), list));
        const parsed = await attempt(file, () => new FileListDataset(file));
        if (parsed.ok) checkList(parsed.ok);
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  it(`LandmarksFile reads ${runs(300)} random valid files exactly`, async () => {
    await fc.assert(
      fc.asyncProperty(landmarkSpec, async (c) => {
        const file = write(landmarkText(c).text);
        const parsed = await attempt(file, () => new LandmarksFile(file));
        expect(parsed.error).to.equal(undefined);
        const l = parsed.ok!;
        expect(l.size).to.equal(c.entries.length);
        for (const e of c.entries) expect(Array.from(l.get(e.path)!)).to.deep.equal(e.points);
      }),
      settings(runs(300)),
    );
  });

  it(`LandmarksFile gives a well-formed result or an error naming the file for ${runs(1000)} damaged files`, async () => {
    const peak = peakRssMb();
    await fc.assert(
      fc.asyncProperty(landmarkSpec, damage, async (c, list) => {
        const file = write(applyAll(new TextEncoder().encode(landmarkText(c).text), list));
        const parsed = await attempt(file, () => new LandmarksFile(file));
        if (!parsed.ok) return;
        for (const e of c.entries) {
          const points = parsed.ok.get(e.path);
          if (points) expect(points.length === 10 && points.every(Number.isFinite)).to.equal(true);
        }
      }),
      settings(runs(1000)),
    );
    expect(peakRssMb() - peak).to.be.below(256);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));
});

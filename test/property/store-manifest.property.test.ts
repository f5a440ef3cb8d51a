// Property tests of an image store's manifest.json as openImageStore and prepareImageStore read
// it: valid manifests are laid out here field by field (not by the store's writer), then damaged
// byte by byte or with fields replaced by random JSON values or removed. parseManifest must give
// a manifest the store can trust (every field of its type, shards adding up) or an error naming
// the file.
import { expect } from 'chai';
import * as fc from 'fast-check';
import { parseManifest, type StoreManifest } from '../../lib/data/store/manifest';
import { applyAll, attempt, byteMutation, hugeNumber, mutations, runs, settings } from './property';

const FILE = '/stores/faces/manifest.json';

const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const positive = (v: unknown) => count(v) && (v as number) > 0;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the store reads from a manifest, checked here independently of the parser. */
function trustworthy(m: StoreManifest): void {
  expect(m.format).to.equal('sphereface-image-store');
  expect(m.version).to.equal(1);
  expect(typeof m.complete, 'complete').to.equal('boolean');
  expect(typeof m.digest, 'digest').to.equal('string');
  for (const k of ['height', 'width', 'imagesPerShard'] as const)
    expect(positive(m[k]), k).to.equal(true);
  for (const k of ['images', 'classes'] as const) expect(count(m[k]), k).to.equal(true);
  expect(isObject(m.source) && typeof m.source.location === 'string', 'source').to.equal(true);
  expect(count(m.source.images), 'source.images').to.equal(true);
  expect(Array.isArray(m.transforms), 'transforms').to.equal(true);
  expect(
    m.classNames.every((c) => typeof c === 'string'),
    'classNames',
  ).to.equal(true);
  for (const s of m.skipped) {
    expect(count(s.index) && typeof s.path === 'string' && typeof s.reason === 'string').to.equal(
      true,
    );
  }
  if (m.leftOut !== undefined) {
    expect(Array.isArray(m.leftOut), 'leftOut').to.equal(true);
    for (const e of m.leftOut) {
      expect(typeof e.path === 'string' && typeof e.reason === 'string', 'leftOut').to.equal(true);
    }
  }
  let images = 0;
  let end = 0;
  m.shards.forEach((s, k) => {
    expect(s.file).to.equal(`shard-${String(k).padStart(5, '0')}.bin`);
    expect(count(s.images) && count(s.crc32) && s.sourceStart === end).to.equal(true);
    expect(count(s.sourceEnd) && s.sourceEnd >= s.sourceStart).to.equal(true);
    const last = k === m.shards.length - 1;
    expect(s.images === m.imagesPerShard || (last && m.complete && s.images > 0)).to.equal(true);
    images += s.images;
    end = s.sourceEnd;
  });
  expect(images).to.equal(m.images);
  if (m.complete) {
    expect(isObject(m.labels) && m.labels.file === 'labels.bin' && count(m.labels.crc32)).to.equal(
      true,
    );
  }
}

/** The fields every manifest has; `leftOut` came later and may be absent. */
const REQUIRED = [
  'format',
  'version',
  'complete',
  'digest',
  'source',
  'transforms',
  'height',
  'width',
  'imagesPerShard',
  'images',
  'classes',
  'classNames',
  'shards',
  'labels',
  'skipped',
] as const;

/** A valid manifest: full shards of imagesPerShard images, the last one shorter once complete. */
const manifestSpec = fc
  .record({
    perShard: fc.integer({ min: 1, max: 50 }),
    full: fc.integer({ min: 0, max: 4 }),
    rest: fc.integer({ min: 0, max: 49 }),
    complete: fc.boolean(),
    skips: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 5, maxLength: 5 }),
  })
  .chain(({ perShard, full, rest, complete, skips }) => {
    const sizes = Array.from({ length: full }, () => perShard);
    const last = rest % perShard;
    if (complete && last > 0) sizes.push(last);
    let start = 0;
    const shards = sizes.map((images, k) => {
      const sourceStart = start;
      start += images + skips[k];
      return { images, sourceStart, sourceEnd: start };
    });
    const images = sizes.reduce((a, b) => a + b, 0);
    return fc.record(
      {
        format: fc.constant('sphereface-image-store'),
        version: fc.constant(1),
        complete: fc.constant(complete && sizes.length > 0),
        digest: fc.stringMatching(/^[0-9a-f]{64}$/),
        source: fc.record({
          kind: fc.constantFrom('folder', 'list', 'recordio'),
          location: fc.string({ maxLength: 20 }),
          images: fc.constant(start),
        }),
        transforms: fc.constant([{ kind: 'Resize', height: 112, width: 96 }]),
        height: fc.integer({ min: 1, max: 200 }),
        width: fc.integer({ min: 1, max: 200 }),
        imagesPerShard: fc.constant(perShard),
        images: fc.constant(images),
        classes: fc.integer({ min: 1, max: 9 }),
        classNames: fc.array(fc.string({ maxLength: 6 }), { maxLength: 9 }),
        shards: fc.tuple(
          ...shards.map((s, k) =>
            fc.record({
              file: fc.constant(`shard-${String(k).padStart(5, '0')}.bin`),
              images: fc.constant(s.images),
              crc32: fc.nat(),
              sourceStart: fc.constant(s.sourceStart),
              sourceEnd: fc.constant(s.sourceEnd),
            }),
          ),
        ),
        labels: fc.record({ file: fc.constant('labels.bin'), crc32: fc.nat() }),
        skipped: fc.array(
          fc.record({
            index: fc.nat(1000),
            path: fc.string({ maxLength: 12 }),
            reason: fc.string(),
          }),
          { maxLength: 3 },
        ),
        // Absent in stores prepared before it was recorded.
        leftOut: fc.array(fc.record({ path: fc.string({ maxLength: 12 }), reason: fc.string() }), {
          maxLength: 3,
        }),
      },
      { requiredKeys: [...REQUIRED] },
    );
  });

/** Every field, and nested fields, that an edit may replace or remove. */
const FIELDS = [
  ...REQUIRED,
  'leftOut',
  'source.images',
  'source.location',
  'classNames.0',
  'shards.0',
  'shards.0.images',
  'shards.0.sourceEnd',
  'shards.1.sourceStart',
  'shards.1.file',
  'labels.crc32',
  'skipped.0',
  'skipped.0.index',
  'leftOut.0',
  'leftOut.0.reason',
];

/** A field (or nested field) replaced by a random JSON value, a huge number, or removed. */
const fieldEdit = fc.record({
  field: fc.constantFrom(...FIELDS),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    hugeNumber.map(Number),
    fc.constantFrom(-1, 0.5, 1e308, null, undefined, '1', true, [], {}),
  ),
});

function edited(manifest: object, edits: { field: string; value: unknown }[]): string {
  const copy = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>;
  for (const { field, value } of edits) {
    const keys = field.split('.');
    let at: unknown = copy;
    for (const key of keys.slice(0, -1))
      at = isObject(at) || Array.isArray(at) ? (at as never)[key] : undefined;
    if (!isObject(at) && !Array.isArray(at)) continue;
    const target = at as Record<string, unknown>;
    const key = keys[keys.length - 1];
    if (value === undefined) delete target[key];
    else target[key] = structuredClone(value); // a value edited in twice must not form a cycle
  }
  return JSON.stringify(copy);
}

describe('image store manifests under random and damaged input (fast-check)', function () {
  this.timeout(300_000);

  it(`parseManifest reads ${runs(500)} random valid manifests exactly`, async () => {
    await fc.assert(
      fc.asyncProperty(manifestSpec, async (manifest) => {
        const read = await attempt(FILE, () => parseManifest(JSON.stringify(manifest), FILE));
        expect(read.error).to.equal(undefined);
        expect(read.ok).to.deep.equal(manifest);
      }),
      settings(runs(500)),
    );
  });

  it(`parseManifest gives a trustworthy manifest or an error naming the file for ${runs(2000)} edited fields`, async () => {
    await fc.assert(
      fc.asyncProperty(
        manifestSpec,
        fc.array(fieldEdit, { minLength: 1, maxLength: 3 }),
        async (manifest, edits) => {
          const text = edited(manifest, edits);
          const read = await attempt(FILE, () => parseManifest(text, FILE));
          if (read.ok) trustworthy(read.ok);
        },
      ),
      settings(runs(2000)),
    );
  });

  it(`parseManifest gives a trustworthy manifest or an error naming the file for ${runs(2000)} damaged files`, async () => {
    await fc.assert(
      fc.asyncProperty(manifestSpec, mutations([byteMutation]), async (manifest, list) => {
        const bytes = applyAll(Buffer.from(JSON.stringify(manifest)), list);
        const read = await attempt(FILE, () => parseManifest(Buffer.from(bytes).toString(), FILE));
        if (read.ok) trustworthy(read.ok);
      }),
      settings(runs(2000)),
    );
  });
});

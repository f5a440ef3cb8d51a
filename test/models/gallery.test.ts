import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import { Gallery } from '../../lib/models/gallery';
import { readGalleryFile, writeGalleryFile } from '../../lib/models/gallery-file';
import { rejection, seededUniform } from '../eval/helpers';

const S = 6;

// A person is a base colour; each of their photos adds noise. PNGs, so pixels come back exact.
async function writePhoto(file: string, base: number[], seed: number): Promise<Uint8Array> {
  const rand = seededUniform(seed);
  const rgb = Uint8Array.from({ length: S * S * 3 }, (_, i) =>
    Math.max(0, Math.min(255, Math.round(base[i % 3] + 60 * (rand() - 0.5)))),
  );
  const img = new Jimp({ width: S, height: S, color: 0xffffffff });
  for (let i = 0; i < S * S; i++) {
    for (let c = 0; c < 3; c++) img.bitmap.data[4 * i + c] = rgb[3 * i + c];
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await img.getBuffer('image/png'));
  return rgb;
}

// Raw pixels, image and mirror concatenated, unit length: the gallery's features, by hand.
function features(rgb: Uint8Array): number[] {
  const plain = Array.from(rgb, (v) => (v - 127.5) / 128);
  const mirror = plain.map((_, i) => {
    const pixel = Math.floor(i / 3);
    const [y, x] = [Math.floor(pixel / S), pixel % S];
    return plain[(y * S + (S - 1 - x)) * 3 + (i % 3)];
  });
  const f = [...plain, ...mirror];
  const norm = Math.hypot(...f);
  return f.map((v) => v / norm);
}

describe('Gallery', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gallery-'));
  const people: Record<string, number[]> = {
    Ada: [220, 40, 40],
    Ben: [40, 200, 60],
    Cyd: [50, 60, 210],
    Dot: [200, 200, 40],
  };
  const model = { ...rawPixelEmbedder(S, S), arch: 'raw-6x6' };
  const pixels = new Map<string, Uint8Array>();
  const probes: string[] = [];

  before(async () => {
    let seed = 1;
    for (const [name, base] of Object.entries(people)) {
      for (let i = 1; i <= 3; i++) {
        const file = path.join(root, 'known', name, `${i}.png`);
        pixels.set(file, await writePhoto(file, base, seed++));
      }
      const probe = path.join(root, 'probes', `${name}.png`);
      pixels.set(probe, await writePhoto(probe, base, 100 + seed++));
      probes.push(probe);
    }
  });

  it('ranks people by their closest image, scores being the cosines', async () => {
    const gallery = await Gallery.build(model, { root: path.join(root, 'known') });
    expect(gallery.size).to.equal(12);
    expect(gallery.names).to.deep.equal(['Ada', 'Ben', 'Cyd', 'Dot']);
    const results = await gallery.search(probes, { top: 4 });
    results.forEach((result, p) => {
      const who = path.basename(result.probe, '.png');
      expect(result.matches[0].name, who).to.equal(who);
      const probe = features(pixels.get(probes[p])!);
      for (const match of result.matches) {
        // The person's score is the best cosine over their images, computed here by hand.
        const dir = path.join(root, 'known', match.name);
        const cosines = fs.readdirSync(dir).map((f) => {
          const g = features(pixels.get(path.join(dir, f))!);
          return g.reduce((s, v, k) => s + v * probe[k], 0);
        });
        expect(match.score).to.be.closeTo(Math.max(...cosines), 1e-5);
      }
      const scores = result.matches.map((m) => m.score);
      expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
    });
    // Probes and added images are embedded as the gallery was: another flip is refused.
    const asNone = { flip: 'none' } as never;
    for (const call of [
      () => gallery.search(probes, asNone),
      () => gallery.add('Eve', probes, asNone),
    ]) {
      const error = await rejection(call());
      expect(error.message).to.equal(
        "the gallery's features are flip 'concat'; flip 'none' would compare features of another kind: leave flip out",
      );
    }
    expect(gallery.size).to.equal(12);
  });

  it('keeps rows unit length and its flip a known one, refusing either changed', async () => {
    expect(() => Gallery.create(model, { flip: 'bogus' as never })).to.throw(
      "Expected 'concat', 'sum' or 'none' for flip but received 'bogus'",
    );
    const gallery = Gallery.create(model);
    const add = (await rejection(
      gallery.add('Ada', [path.join(root, 'known', 'Ada', '1.png')], {
        normalize: false,
      } as never),
    )) as Error;
    expect(add.message).to.match(/^Unknown option 'normalize' in options;/);
    expect(gallery.size).to.equal(0);
    expect((await rejection(gallery.save(''))).message).to.equal(
      "Expected a gallery file path for file but received ''",
    );
  });

  it('build names a bad image of its folder and says to move it out, not to leave it out of paths', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'gallery-bad-'));
    fs.mkdirSync(path.join(folder, 'Eve'));
    const bad = path.join(folder, 'Eve', '1.png');
    fs.writeFileSync(bad, 'not a png');
    const error = await rejection(Gallery.build(model, { root: folder }));
    expect(error.message).to.match(
      new RegExp(`^cannot decode ${bad}: .*; move it out of ${folder}$`),
    );
  });

  it('saves and loads as one file, adds people, and refuses another model or a damaged file', async () => {
    const gallery = Gallery.create(model);
    await gallery.add('Ada', [path.join(root, 'known', 'Ada', '1.png')]);
    await gallery.add('Ben', [path.join(root, 'known', 'Ben', '1.png')]);
    // An image is one row: again (by another spelling of its path), or twice in one call, is refused.
    const ada = path.join(root, 'known', 'Ada', '1.png');
    const relative = path.relative(process.cwd(), ada);
    expect((await rejection(gallery.add('Ada', [relative]))).message).to.equal(
      `${relative} is in the gallery already, as Ada`,
    );
    expect((await rejection(gallery.add('Cyd', []))).message).to.equal(
      'Expected image paths of Cyd but received none',
    );
    const ben2 = path.join(root, 'known', 'Ben', '2.png');
    expect((await rejection(gallery.add('Ben', [ben2, ben2]))).message).to.equal(
      `${ben2} is given twice (as Ben first)`,
    );
    // Nor through a link: a symbolic or a hard link to a row's file is that image again.
    const symbolic = path.join(root, 'alias.png');
    const hard = path.join(root, 'hard.png');
    fs.symlinkSync(ada, symbolic);
    fs.linkSync(ada, hard);
    for (const link of [symbolic, hard]) {
      expect((await rejection(gallery.add('Mallory', [link]))).message).to.equal(
        `${link} is in the gallery already, as Ada (${ada})`,
      );
    }
    fs.symlinkSync(ben2, path.join(root, 'ben-link.png'));
    expect(
      (await rejection(gallery.add('Cyd', [ben2, path.join(root, 'ben-link.png')]))).message,
    ).to.equal(`${path.join(root, 'ben-link.png')} is given twice (as Cyd first, ${ben2})`);
    // Arguments of the wrong type are named.
    const add = gallery.add as (name: string, paths: unknown) => Promise<void>;
    expect((await rejection(add.call(gallery, 'Cyd', ada))).message).to.equal(
      `Expected an array of image paths of Cyd for paths but received '${ada}'`,
    );
    const search = gallery.search as (paths: string[], options: unknown) => Promise<unknown>;
    expect((await rejection(search.call(gallery, [ada], null))).message).to.equal(
      'Expected an options object for options but received null',
    );
    expect((await rejection(search.call(gallery, [ada], { top: '3' }))).message).to.equal(
      "Expected a positive integer for top but received '3'",
    );
    const build = Gallery.build as (model: unknown, options?: unknown) => Promise<Gallery>;
    expect((await rejection(build(model))).message).to.equal(
      'Expected an options object ({ root, ... }) for options but received a value of type undefined',
    );
    expect(gallery.size).to.equal(2);
    const file = path.join(root, 'people.sfg');
    await gallery.save(file);
    const again = await Gallery.load(file, model);
    expect(again.names).to.deep.equal(['Ada', 'Ben']);
    expect(await again.search(probes.slice(0, 2))).to.deep.equal(
      await gallery.search(probes.slice(0, 2)),
    );
    const other = { ...rawPixelEmbedder(S, S), arch: 'other' };
    expect((await rejection(Gallery.load(file, other))).message).to.match(/embedded by raw-6x6/);
    // Another model of the same arch (here: one that sees the negative) is caught by the
    // features of a fixed image saved with the gallery; a gallery written without them loads.
    const retrained = {
      ...model,
      embed: (images: Uint8Array, n: number, flip?: Uint8Array) =>
        model.embed(
          images.map((v) => 255 - v),
          n,
          flip,
        ),
    };
    expect((await rejection(Gallery.load(file, retrained))).message).to.match(
      /people\.sfg was embedded by another raw-6x6 model \(a fixed image's features agree to cosine -1\.0000\); build it again with this one/,
    );
    const { header, embeddings } = await readGalleryFile(file);
    expect(header.modelCheck).to.have.length(model.embeddingDim);
    const older = path.join(root, 'older.sfg');
    await writeGalleryFile(older, { header: { ...header, modelCheck: undefined }, embeddings });
    expect((await Gallery.load(older, retrained)).names).to.deep.equal(['Ada', 'Ben']);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 3] ^= 0x40;
    fs.writeFileSync(file, bytes);
    expect((await rejection(Gallery.load(file, model))).message).to.match(/checksum/);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 8));
    expect((await rejection(Gallery.load(file, model))).message).to.match(/header declares/);
    expect((await rejection(Gallery.create(model).search(probes))).message).to.match(/empty/);
    const loose = Gallery.create as (model: unknown) => Gallery;
    expect(() => loose(null)).to.throw(
      TypeError,
      'Expected a model (an object with embed() and embeddingDim) for model but received null',
    );
  });

  it('runs adds, searches and saves called together one after another, in call order', async () => {
    const gallery = Gallery.create(model);
    const file = (name: string, i: number) => path.join(root, 'known', name, `${i}.png`);
    const file2 = path.join(root, 'together.sfg');
    // Not awaited in between: each call starts while the one before is still embedding.
    const calls = [
      gallery.add('Ada', [file('Ada', 1), file('Ada', 2)]),
      gallery.add('Ben', [file('Ben', 1)]),
      gallery.add('Mallory', [file('Ada', 2)]),
      gallery.search([probes[1]], { top: 2 }),
      gallery.save(file2),
      gallery.add('Cyd', [file('Cyd', 1)]),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).to.deep.equal([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect((settled[2] as PromiseRejectedResult).reason.message).to.equal(
      `${file('Ada', 2)} is in the gallery already, as Ada`,
    );
    // The search saw Ada and Ben (not Cyd, called after it); the file holds the three rows
    // added before the save, with their embeddings.
    const found = (settled[3] as PromiseFulfilledResult<{ matches: { name: string }[] }[]>).value;
    expect(found[0].matches.map((m) => m.name)).to.deep.equal(['Ben', 'Ada']);
    const saved = await readGalleryFile(file2);
    expect(saved.header.names).to.deep.equal(['Ada', 'Ada', 'Ben']);
    expect(saved.embeddings).to.have.length(3 * gallery.dim);
    const ben = features(pixels.get(file('Ben', 1))!);
    Array.from(saved.embeddings.subarray(2 * gallery.dim)).forEach((v, k) =>
      expect(v, `Ben's row, number ${k}`).to.be.closeTo(ben[k], 1e-6),
    );
    expect(gallery.names).to.deep.equal(['Ada', 'Ben', 'Cyd']);
    expect(gallery.size).to.equal(4);
  });
});

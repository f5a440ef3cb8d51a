import { expect } from 'chai';
import { decodeImage } from '../../lib/data/image-decoder';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import sharp from 'sharp';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import { BadImageError } from '../../lib/data/bad-image-error';
import { FileListDataset } from '../../lib/data/file-list-dataset';
import { LandmarksFile } from '../../lib/data/landmarks-file';
import { SPHEREFACE_TEMPLATE } from '../../lib/data/transforms/face-align';
import { DecodePool } from '../../lib/data/decode-pool';
import { embedFiles, verify } from '../../lib/models/face-files';
import { boxLandmarks } from '../../lib/models/face-location';
import { inputTransforms } from '../../lib/models/preprocess';
import { rejection, seededUniform } from '../eval/helpers';

const H = 6;
const W = 6;

// Writes an RGB image (as a PNG: lossless, so decoding gives the bytes back) and returns them.
async function writePng(
  file: string,
  width: number,
  height: number,
  seed: number,
): Promise<Uint8Array> {
  const rand = seededUniform(seed);
  const rgb = Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rand() * 256));
  const img = new Jimp({ width, height, color: 0xffffffff });
  for (let i = 0; i < width * height; i++) {
    img.bitmap.data[4 * i] = rgb[3 * i];
    img.bitmap.data[4 * i + 1] = rgb[3 * i + 1];
    img.bitmap.data[4 * i + 2] = rgb[3 * i + 2];
  }
  fs.writeFileSync(file, await img.getBuffer('image/png'));
  return rgb;
}

// A deterministic, mirror-sensitive 3-d feature of an H x W x 3 image.
function feature(img: Uint8Array): number[] {
  const f = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      f[0] += img[i] * (x + 1);
      f[1] += img[i + 1] * (y + 1);
      f[2] += img[i + 2] - img[i];
    }
  }
  return f;
}

// A model whose features are `feature`, mirroring image i first where flip[i] != 0.
const model = {
  embeddingDim: 3,
  inputSize: { height: H, width: W },
  async embed(images: Uint8Array, n: number, flip?: Uint8Array) {
    const out = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const img = images.subarray(i * H * W * 3, (i + 1) * H * W * 3);
      out.set(feature(flip?.[i] ? mirror(img) : img), 3 * i);
    }
    return out;
  },
};

/** What embedFiles hands the model for file i: the images it embeds, unflipped. */
async function seenByModel(files: string[]): Promise<Uint8Array[]> {
  const seen: Uint8Array[] = [];
  const capture = {
    ...model,
    async embed(images: Uint8Array, n: number) {
      for (let i = 0; i < n; i++) seen.push(images.slice(i * H * W * 3, (i + 1) * H * W * 3));
      return model.embed(images, n);
    },
  };
  await embedFiles(capture, files, { flip: 'none', batchSize: 4 });
  return seen;
}

function mirror(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      for (let c = 0; c < 3; c++) out[(y * W + x) * 3 + c] = img[(y * W + W - 1 - x) * 3 + c];
    }
  }
  return out;
}

describe('face files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faces-'));
  const files = [0, 1, 2].map((i) => path.join(dir, `f${i}.png`));
  let pixels: Uint8Array[] = [];
  let wide: Uint8Array;

  before(async () => {
    pixels = await Promise.all(files.map((f, i) => writePng(f, W, H, i + 1)));
    wide = await writePng(path.join(dir, 'wide.png'), 2 * W, H, 9);
  });

  it('decodes a file at the input size to its RGB bytes', async () => {
    expect([...(await seenByModel([files[1]]))[0]]).to.deep.equal([...pixels[1]]);
  });

  it('keeps the centre of a wider image (shorter side already fits: crop only)', async () => {
    const [got] = await seenByModel([path.join(dir, 'wide.png')]);
    const centre = new Uint8Array(H * W * 3);
    for (let y = 0; y < H; y++)
      centre.set(wide.subarray((y * 2 * W + W / 2) * 3, (y * 2 * W + W / 2 + W) * 3), y * W * 3);
    expect([...got]).to.deep.equal([...centre]);
  });

  it('embeds files as unit vectors of [features, mirrored features]', async () => {
    const out = await embedFiles(model, files, { batchSize: 2 });
    expect(out.dim).to.equal(6);
    expect(out.paths).to.deep.equal(files);
    pixels.forEach((img, i) => {
      const f = [...feature(img), ...feature(mirror(img))];
      const norm = Math.hypot(...f);
      f.forEach((v, k) => expect(out.embeddings[i * 6 + k]).to.be.closeTo(v / norm, 1e-6));
    });
  });

  it('decodes files of any size on the worker pool, then resizes and crops them', async () => {
    const sizes = Array.from({ length: 10 }, (_, i) => [W + 2 * (i % 3), H + (i % 2)]);
    const many = sizes.map((_, i) => path.join(dir, `m${i}.png`));
    const raw = await Promise.all(
      many.map((f, i) => writePng(f, sizes[i][0], sizes[i][1], 20 + i)),
    );
    const pooled = await embedFiles(model, many, { flip: 'none', normalize: false, batchSize: 4 });
    for (let i = 0; i < many.length; i++) {
      // The transforms applied here to the pixels written (PNG is lossless).
      let image = { data: raw[i], width: sizes[i][0], height: sizes[i][1] };
      for (const t of inputTransforms({ height: H, width: W })) image = t.apply(image);
      const f = feature(image.data);
      f.forEach((v, k) => expect(pooled.embeddings[i * 3 + k]).to.equal(Math.fround(v)));
    }
  });

  it('verifies two files by cosine against a threshold', async () => {
    const same = await verify(model, files[0], files[0], { threshold: 0.5 });
    expect(same.similarity).to.be.closeTo(1, 1e-12);
    expect(same.same).to.equal(true);
    const a = [...feature(pixels[0]), ...feature(mirror(pixels[0]))];
    const b = [...feature(pixels[2]), ...feature(mirror(pixels[2]))];
    const cos = a.reduce((s, v, k) => s + v * b[k], 0) / (Math.hypot(...a) * Math.hypot(...b));
    const r = await verify(model, files[0], files[2], { threshold: cos });
    expect(r.similarity).to.be.closeTo(cos, 1e-6);
    // With the raw-pixel embedder, a model-stored threshold is used when none is given.
    const stored = { ...rawPixelEmbedder(H, W), threshold: 2 };
    expect((await verify(stored, files[0], files[0])).same).to.equal(false);
    // A given threshold no cosine can cross is refused.
    const past = await rejection(verify(model, files[0], files[2], { threshold: 1.5 }));
    expect(past).to.be.instanceOf(RangeError);
    expect(past.message).to.match(/cosine similarity in -1\.\.1 for threshold but received 1\.5/);
  });

  it('keeps the similarity in [-1, 1] where rounding would carry it past', async () => {
    // A float32 feature whose unit-length float64 copy has a dot product with itself above 1.
    const rand = seededUniform(77);
    const selfDot = (v: Float32Array) => {
      const inv = 1 / Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
      return v.reduce((sum, x) => sum + x * inv * (x * inv), 0);
    };
    let feature = new Float32Array(3);
    do feature = Float32Array.from({ length: 3 }, () => rand() - 0.5);
    while (selfDot(feature) <= 1);
    const constant = {
      ...rawPixelEmbedder(H, W),
      embeddingDim: 3,
      embed: async (_: Uint8Array, n: number) =>
        Float32Array.from({ length: n * 3 }, (_, i) => feature[i % 3]),
    };
    const r = await verify(constant, files[0], files[1], { flip: 'none', threshold: 0.5 });
    expect(r.similarity).to.equal(1);
    expect(Math.acos(r.similarity)).to.equal(0);
  });

  it('embeds and verifies files for calls made at once as for calls made one by one', async () => {
    const pairs = [
      [files[0], files[1]],
      [files[2], files[0]],
      [files[1], files[2]],
    ];
    const oneByOne = [];
    for (const [a, b] of pairs) oneByOne.push(await embedFiles(model, [a, b], { batchSize: 1 }));
    const verdicts = [];
    for (const [a, b] of pairs) verdicts.push(await verify(model, a, b, { threshold: 0.5 }));
    // Every call below shares the default decode pool.
    const [embedded, verified] = await Promise.all([
      Promise.all(pairs.map(([a, b]) => embedFiles(model, [a, b], { batchSize: 1 }))),
      Promise.all(pairs.map(([a, b]) => verify(model, a, b, { threshold: 0.5 }))),
    ]);
    expect(embedded).to.deep.equal(oneByOne);
    expect(verified).to.deep.equal(verdicts);
  });

  it('names a missing or undecodable file, and asks for a threshold', async () => {
    const missing = path.join(dir, 'nope.png');
    expect((await rejection(embedFiles(model, [files[0], missing]))).message).to.contain(missing);
    // In a larger batch too.
    const nine = [...files, ...files, ...files.slice(0, 2), missing];
    expect((await rejection(embedFiles(model, nine))).message).to.contain(missing);
    const text = path.join(dir, 'text.png');
    fs.writeFileSync(text, 'not an image');
    expect((await rejection(embedFiles(model, [text]))).message).to.contain(text);
    expect((await rejection(verify(model, files[0], files[1]))).message).to.match(/threshold/);
  });

  it("gives bad-image advice in embedFiles' and verify's own terms (no onBadImage there)", async () => {
    const text = path.join(dir, 'bad.png');
    fs.writeFileSync(text, 'not an image');
    const embedded = await rejection(embedFiles(model, [files[0], text]));
    expect(embedded.message).to.match(/^cannot decode .*bad\.png: .*; leave it out of paths$/);
    expect(embedded.message).not.to.contain('onBadImage');
    const verified = await rejection(verify(model, files[0], text, { threshold: 0.5 }));
    expect(verified.message).to.match(/^cannot decode .*bad\.png: [^;]*$/);
  });

  it('refuses a small image whose aspect takes the covering resize past the limit', async () => {
    // 2 megapixels (within maxPixels), but covering 112x96 makes it 112 x 224 million.
    const long = path.join(dir, 'long.png');
    await sharp({ create: { width: 2_000_000, height: 1, channels: 3, background: '#808080' } })
      .png()
      .toFile(long);
    const outW = 2_000_000 * 112;
    const reason =
      `ResizeToCover: covering 112x96 with 1x2000000 makes 112x${outW} = ` +
      `${(112 * outW).toLocaleString('en-US')} pixels, over the limit of 50,000,000 per image`;
    const net = rawPixelEmbedder(112, 96);
    const embedded = await rejection(embedFiles(net, [files[0], long]));
    expect(embedded).to.be.instanceOf(BadImageError);
    // No advice to raise maxPixels: the limit is the resize's, whatever maxPixels says.
    expect(embedded.message).to.equal(`cannot decode ${long}: ${reason}; leave it out of paths`);
    const verified = await rejection(verify(net, long, files[0], { threshold: 0.5 }));
    expect(verified.message).to.equal(`cannot decode ${long}: ${reason}`);
  });

  it('names embedFiles, verify and their arguments in argument errors, before decoding', async () => {
    const loose = embedFiles as (...args: unknown[]) => Promise<unknown>;
    const looseVerify = verify as (...args: unknown[]) => Promise<unknown>;
    const cases = (): [Promise<unknown>, RegExp][] => [
      [
        embedFiles(model, files, { maxPixels: 0 }),
        /^embedFiles: expected a positive integer or Infinity for maxPixels but received 0 of type number$/,
      ],
      [
        verify(model, files[0], files[1], { threshold: 0.5, maxPixels: -1 }),
        /^verify: expected a positive integer or Infinity for maxPixels but received -1/,
      ],
      [
        looseVerify(model, files[0], undefined, { threshold: 0.5 }),
        /^Expected a file path for b but received a value of type undefined$/,
      ],
      [looseVerify(model, 7, files[0], { threshold: 0.5 }), /^Expected a file path for a but/],
      [loose(model, 'f.png'), /^Expected an array of file paths for paths but received 'f.png'$/],
      [loose(model, [files[0], 3]), /^Expected a file path for paths\[1\] but received 3 of/],
      [
        loose(undefined, files),
        /^Expected a model .* for model but received a value of type undefined$/,
      ],
    ];
    const run = DecodePool.prototype.run;
    let decodes = 0;
    DecodePool.prototype.run = function (this: DecodePool, ...args: Parameters<typeof run>) {
      decodes++;
      return run.apply(this, args);
    };
    try {
      for (const [promise, pattern] of cases()) {
        expect((await rejection(promise)).message).to.match(pattern);
      }
    } finally {
      DecodePool.prototype.run = run;
    }
    expect(decodes).to.equal(0);
  });
});

describe('face files aligned on landmarks or a box', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aligned-'));
  // A model that keeps the images it is given: what reaches the net, byte for byte.
  const seen: Uint8Array[] = [];
  const capture = {
    embeddingDim: 1,
    inputSize: { height: 112, width: 96 },
    async embed(images: Uint8Array, n: number) {
      for (let i = 0; i < n; i++) seen.push(images.slice(i * 112 * 96 * 3, (i + 1) * 112 * 96 * 3));
      return new Float32Array(n).fill(1);
    },
  };
  const photo = path.join(dir, 'photo.png');
  const crop = path.join(dir, 'crop.png');
  // Landmarks somewhere in a 160x150 photo: eyes, nose tip, mouth corners.
  const points = [52.5, 60.2, 101.3, 58.8, 77.1, 86.4, 57.9, 110.6, 98.2, 109.7];
  let cropPixels: Uint8Array;

  before(async () => {
    await writePng(photo, 160, 150, 31);
    cropPixels = await writePng(crop, 96, 112, 32);
  });

  it("gives the net exactly the training pipeline's aligned crop", async () => {
    // The training pipeline: a labelled list with landmarks, loaded with the arch's transforms.
    const list = path.join(dir, 'list.txt');
    fs.writeFileSync(list, `photo.png 0 ${points.join(' ')}\n`);
    const training = await new FileListDataset(list).load({
      transforms: inputTransforms({ height: 112, width: 96 }, { aligned: true }),
    });
    seen.length = 0;
    const out = await embedFiles(capture, [photo, crop], {
      landmarks: [points, undefined],
      flip: 'none',
    });
    expect(out.alignment).to.deep.equal(['landmarks', 'pre-aligned']);
    expect(Buffer.from(seen[0]).equals(Buffer.from(training.images))).to.equal(true);
    // Without landmarks a 96x112 crop is used as it is.
    expect(Buffer.from(seen[1]).equals(Buffer.from(cropPixels))).to.equal(true);
  });

  it('finds landmarks in a landmark file by path, and aligns a box onto the template', async () => {
    const file = path.join(dir, 'landmarks.txt');
    fs.writeFileSync(file, `photo.png\t${points.join(' ')}\n`);
    seen.length = 0;
    await embedFiles(capture, [photo], { landmarks: new LandmarksFile(file), flip: 'none' });
    await embedFiles(capture, [photo], { landmarks: [points], flip: 'none' });
    expect(Buffer.from(seen[0]).equals(Buffer.from(seen[1]))).to.equal(true);
    // A file beside an LFW layout's folder lists <Name>/<file>, relative to that folder.
    const lfw = path.join(dir, 'lfw', 'Ada_Lee');
    fs.mkdirSync(lfw, { recursive: true });
    const inLfw = path.join(lfw, 'Ada_Lee_0001.png');
    fs.copyFileSync(photo, inLfw);
    const beside = path.join(dir, 'lfw_landmarks.txt');
    fs.writeFileSync(beside, `Ada_Lee/Ada_Lee_0001.png\t${points.join(' ')}\n`);
    const found = await embedFiles(capture, [inLfw], {
      landmarks: new LandmarksFile(beside),
      flip: 'none',
    });
    expect(found.alignment).to.deep.equal(['landmarks']);
    expect(Buffer.from(seen[2]).equals(Buffer.from(seen[0]))).to.equal(true);
    // A box that is the whole 96x112 crop puts the template's points where they are: no change.
    seen.length = 0;
    const boxed = await embedFiles(capture, [crop], { boxes: [[0, 0, 96, 112]], flip: 'none' });
    expect(boxed.alignment).to.deep.equal(['box']);
    boxLandmarks([0, 0, 96, 112]).forEach((v, i) =>
      expect(v).to.be.closeTo(SPHEREFACE_TEMPLATE[i], 1e-12),
    );
    let largest = 0;
    seen[0].forEach((v, i) => (largest = Math.max(largest, Math.abs(v - cropPixels[i]))));
    expect(largest).to.be.at.most(1); // bilinear sampling at the pixel centres, up to rounding
  });

  it('refuses landmarks for a square-input net and a malformed box', async () => {
    const square = { ...capture, inputSize: { height: 96, width: 96 } };
    expect(
      (await rejection(embedFiles(square, [photo], { landmarks: [points] }))).message,
    ).to.match(/112x96 nets/);
    expect(
      (await rejection(embedFiles(capture, [photo], { boxes: [[0, 0, -5, 10]] }))).message,
    ).to.match(/width, height > 0/);
    expect(
      (await rejection(embedFiles(capture, [photo, crop], { landmarks: [points] }))).message,
    ).to.match(/one entry of landmarks per path/);
    // Of the wrong type: named, not a TypeError from inside.
    const loose = embedFiles as (model: unknown, paths: string[], options: unknown) => unknown;
    expect(
      (await rejection(loose(capture, [photo], { boxes: 'x' }) as Promise<unknown>)).message,
    ).to.equal("Expected an array of boxes, one per path for boxes but received 'x'");
    expect(
      (await rejection(loose(capture, [photo], { boxes: ['x'] }) as Promise<unknown>)).message,
    ).to.equal(
      'Expected a box [x, y, width, height] of finite numbers with width, height > 0 ' +
        `for boxes[0] (${photo}) but received 'x'`,
    );
    // null is not undefined (no box, no landmarks): the entry is refused by name, as a RangeError.
    const noBox = await rejection(loose(capture, [photo], { boxes: [null] }) as Promise<unknown>);
    expect([noBox.constructor.name, noBox.message]).to.deep.equal([
      'RangeError',
      'Expected a box [x, y, width, height] of finite numbers with width, height > 0 ' +
        `for boxes[0] (${photo}) but received null`,
    ]);
    const noPoints = await rejection(
      loose(capture, [crop, photo], { landmarks: [undefined, null] }) as Promise<unknown>,
    );
    expect([noPoints.constructor.name, noPoints.message]).to.deep.equal([
      'RangeError',
      `Expected 10 finite landmark numbers for landmarks[1] (${photo}) but received null`,
    ]);
    const short = await rejection(embedFiles(capture, [photo], { landmarks: [[1, 2, 3]] }));
    expect(short.message).to.equal(
      `Expected 10 finite landmark numbers for landmarks[0] (${photo}) but received 3 numbers`,
    );
    // A value that is not finite is shown, whichever it is.
    const nanBox = [[NaN, 10, 50, 60]] as const;
    expect((await rejection(embedFiles(capture, [photo], { boxes: nanBox }))).message).to.match(
      /of finite numbers with width, height > 0 for boxes\[0\] .* but received \[NaN, 10, 50, 60\]$/,
    );
    const nanPoints = [[NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
    expect(
      (await rejection(embedFiles(capture, [photo], { landmarks: nanPoints }))).message,
    ).to.match(
      /10 finite landmark numbers for .* but received \[NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9\]$/,
    );
    const decode = decodeImage as (bytes: unknown) => Promise<unknown>;
    expect((await rejection(decode(photo))).message).to.equal(
      `Expected an image file's bytes (a Uint8Array or Buffer) for bytes but received '${photo}'`,
    );
  });
});

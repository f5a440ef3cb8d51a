import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Jimp } from 'jimp';
import { rawPixelEmbedder } from '../../lib/eval/embedder';
import { embedFiles, verify } from '../../lib/models/face-files';
import { decodeAtInputSize, rejection, seededUniform } from '../eval/helpers';

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
    expect([...(await decodeAtInputSize(files[1], H, W))]).to.deep.equal([...pixels[1]]);
  });

  it('keeps the centre of a wider image (shorter side already fits: crop only)', async () => {
    const got = await decodeAtInputSize(path.join(dir, 'wide.png'), H, W);
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

  it('decodes files of any size on the worker pool as a single file is', async () => {
    const many = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const f = path.join(dir, `m${i}.png`);
        await writePng(f, W + 2 * (i % 3), H + (i % 2), 20 + i); // varied sizes: resize + crop
        return f;
      }),
    );
    const pooled = await embedFiles(model, many, { flip: 'none', normalize: false, batchSize: 4 });
    for (let i = 0; i < many.length; i++) {
      const f = feature(await decodeAtInputSize(many[i], H, W));
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
  });

  it('names a missing or undecodable file, and asks for a threshold', async () => {
    const missing = path.join(dir, 'nope.png');
    expect((await rejection(embedFiles(model, [files[0], missing]))).message).to.contain(missing);
    // In a later batch too.
    const nine = [...files, ...files, ...files.slice(0, 2), missing];
    expect((await rejection(embedFiles(model, nine))).message).to.contain(missing);
    const text = path.join(dir, 'text.png');
    fs.writeFileSync(text, 'not an image');
    expect((await rejection(embedFiles(model, [text]))).message).to.contain(text);
    expect((await rejection(verify(model, files[0], files[1]))).message).to.match(/threshold/);
  });
});

import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { CenterCrop } from '../../lib/data/transforms/center-crop';
import { FaceAlign, SPHEREFACE_TEMPLATE } from '../../lib/data/transforms/face-align';
import { Normalize } from '../../lib/data/transforms/normalize';
import { RandomCrop } from '../../lib/data/transforms/random-crop';
import { applyTransforms } from '../../lib/data/transforms/apply-transforms';
import { Resize, ResizeToCover, resizeBilinear } from '../../lib/data/transforms/resize';
import { MAX_OUTPUT_PIXELS } from '../../lib/data/transforms/transform';
import { applyAffine, fitSimilarity } from '../../lib/data/transforms/similarity';
import { Random } from '../../lib/util/random';
import { rgbOf } from './helpers';

/** Float64 antialiased-bilinear reference: a triangle filter of half-width max(scale, 1). */
function referenceResize(
  src: Uint8Array,
  inW: number,
  inH: number,
  outW: number,
  outH: number,
): Float64Array {
  const weights = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const support = Math.max(scale, 1);
    return Array.from({ length: outSize }, (_, o) => {
      const centre = (o + 0.5) * scale; // output pixel centre in input coordinates
      const w = new Float64Array(inSize);
      let total = 0;
      for (let i = 0; i < inSize; i++) {
        const d = Math.abs(i + 0.5 - centre) / support;
        w[i] = Math.max(0, 1 - d);
        total += w[i];
      }
      const normalised = w.map((v) => v / total);
      const nonzero = Array.from(normalised.keys()).filter((i) => normalised[i] !== 0);
      return { w: normalised, nonzero };
    });
  };
  const wx = weights(inW, outW);
  const wy = weights(inH, outH);
  const out = new Float64Array(outW * outH * 3);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (const y of wy[oy].nonzero) {
          for (const x of wx[ox].nonzero)
            v += wy[oy].w[y] * wx[ox].w[x] * src[(y * inW + x) * 3 + c];
        }
        out[(oy * outW + ox) * 3 + c] = v;
      }
    }
  }
  return out;
}

describe('data transforms', () => {
  it('Resize(96) turns 250x250 into 96x96 matching a float64 antialiased-bilinear reference', () => {
    const src = rgbOf(250, 250, (x, y) => [
      Math.round(127.5 + 127.5 * Math.sin(x / 7) * Math.cos(y / 11)),
      (x * y) % 256,
      Math.round((255 * x) / 249),
    ]);
    const out = new Resize(96).apply({ data: src, width: 250, height: 250 });
    expect([out.width, out.height]).to.deep.equal([96, 96]);
    const ref = referenceResize(src, 250, 250, 96, 96);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(out.data[i] - ref[i]));
    // Pillow (and so we) round to uint8 between the horizontal and vertical passes: <= 1 level.
    expect(worst).to.be.at.most(1);
  });

  it('Resize sets the shorter side and keeps the aspect ratio like torchvision', () => {
    expect(new Resize(96).outputSize(250, 200)).to.deep.equal([120, 96]);
    expect(new Resize(96).outputSize(100, 300)).to.deep.equal([96, 288]);
    expect(new Resize([112, 96]).outputSize(250, 250)).to.deep.equal([112, 96]);
    expect(() => new Resize(0)).to.throw(/positive integer for size/);
  });

  it('refuses sizes over 50 million pixels at construction, naming the argument', () => {
    const over = /over the limit of 50,000,000 per image$/;
    expect(() => new Resize(60000)).to.throw(
      RangeError,
      /^Resize: size 60000 makes 60000x60000 = 3,600,000,000 pixels, over the limit/,
    );
    expect(() => new Resize([8000, 8000])).to.throw(RangeError, /^Resize: size \[8000, 8000\]/);
    expect(() => new CenterCrop(10000)).to.throw(RangeError, /^CenterCrop: size 10000 makes/);
    expect(() => new CenterCrop([1, 60_000_000])).to.throw(RangeError, over);
    expect(() => new RandomCrop(10000)).to.throw(RangeError, /^RandomCrop: size 10000/);
    expect(() => new ResizeToCover(10000, 10000)).to.throw(RangeError, /^ResizeToCover: /);
    expect(() => new FaceAlign({ width: 10000, height: 10000 })).to.throw(RangeError, over);
    expect(() => new CenterCrop([112, 96, 3] as unknown as number)).to.throw(
      /expected \[height, width\] for size but received 3 numbers/,
    );
    expect(() => new CenterCrop('96' as unknown as number)).to.throw(
      /^CenterCrop: expected positive integer for size but received '96'$/,
    );
    // The largest allowed are fine, and so is an ordinary size.
    expect(new Resize(7071).size).to.equal(7071);
    expect(new CenterCrop([112, 96]).height).to.equal(112);
  });

  it('refuses, as a bad image, a resize whose aspect takes the longer side past the limit', () => {
    const narrow = { data: new Uint8Array(10 * 1000 * 3), width: 1000, height: 10 };
    expect(() => new Resize(5000).apply(narrow)).to.throw(
      RangeError,
      /^Resize: size 5000 on 10x1000 makes 5000x500000 = 2,500,000,000 pixels, over the limit/,
    );
  });

  it('refuses such a resize when a centre crop follows it too (computed in one step)', () => {
    // 1 x 4000: covering 112x96 (or Resize(112)) scales it by 112, a hair past the limit.
    const line = { data: new Uint8Array(4000 * 3), width: 4000, height: 1 };
    const outW = 4000 * 112;
    const pixels = (112 * outW).toLocaleString('en-US');
    expect(112 * outW).to.be.above(MAX_OUTPUT_PIXELS);
    const crop = new CenterCrop([112, 96]);
    expect(() => applyTransforms(line, [new ResizeToCover(112, 96), crop])).to.throw(
      RangeError,
      `ResizeToCover: covering 112x96 with 1x4000 makes 112x${outW} = ${pixels} pixels, over the limit of 50,000,000 per image`,
    );
    expect(() => applyTransforms(line, [new Resize(112), crop])).to.throw(
      RangeError,
      `Resize: size 112 on 1x4000 makes 112x${outW} = ${pixels} pixels, over the limit`,
    );
  });

  it('ResizeToCover scales by the smallest factor that covers the target', () => {
    const cover = new ResizeToCover(112, 96);
    // A square photo: its side becomes 112, exactly as Resize(112) does.
    const square = {
      width: 250,
      height: 250,
      data: rgbOf(250, 250, (x, y) => [x, y, (x * y) % 256]),
    };
    const a = cover.apply(square);
    const b = new Resize(112).apply(square);
    expect([a.height, a.width]).to.deep.equal([112, 112]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).to.equal(true);
    // The target's own aspect: scaled to exactly the target; the target itself: untouched.
    expect(cover.outputSize(224, 192)).to.deep.equal([112, 96]);
    const own = { width: 96, height: 112, data: rgbOf(96, 112, (x, y) => [x, y, 7]) };
    expect(cover.apply(own)).to.equal(own);
    // Any shape: both sides cover the target, and one of them fits it.
    for (const [h, w] of [
      [100, 300],
      [300, 100],
      [113, 95],
      [40, 41],
      [1000, 700],
    ]) {
      const [oh, ow] = cover.outputSize(h, w);
      expect(oh >= 112 && ow >= 96, `${h}x${w}`).to.equal(true);
      expect(oh === 112 || ow === 96, `${h}x${w}`).to.equal(true);
    }
  });

  it('CenterCrop uses Python rounding for odd margins and pads small images', () => {
    const src = rgbOf(5, 5, (x, y) => [x, y, 0]);
    const out = new CenterCrop(2).apply({ data: src, width: 5, height: 5 });
    // (5 - 2) / 2 = 1.5 rounds to 2 (half to even).
    expect(Array.from(out.data.subarray(0, 3))).to.deep.equal([2, 2, 0]);
    const padded = new CenterCrop(4).apply({
      data: rgbOf(2, 2, (x, y) => [10 + x, 10 + y, 1]),
      width: 2,
      height: 2,
    });
    // Pad (4 - 2) / 2 = 1 on the top and left: pixel (1, 1) is the source's (0, 0).
    expect(Array.from(padded.data.subarray(0, 3))).to.deep.equal([0, 0, 0]);
    expect(Array.from(padded.data.subarray((1 * 4 + 1) * 3, (1 * 4 + 1) * 3 + 3))).to.deep.equal([
      10, 10, 1,
    ]);
  });

  it('fitSimilarity recovers a known similarity from exact landmarks', () => {
    // Image = s R(theta) template + t, written as cp2tform's u = a x + b y + c, v = -b x + a y + d.
    const s = 1.7;
    const theta = 0.3;
    const a = s * Math.cos(theta);
    const b = s * Math.sin(theta);
    const c = 20;
    const d = 35;
    const t = SPHEREFACE_TEMPLATE;
    const uv = new Float64Array(10);
    for (let i = 0; i < 5; i++) {
      uv[2 * i] = a * t[2 * i] + b * t[2 * i + 1] + c;
      uv[2 * i + 1] = -b * t[2 * i] + a * t[2 * i + 1] + d;
    }
    const { inverse, forward } = fitSimilarity(uv, t);
    const expected = [a, b, c, -b, a, d];
    inverse.forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-9));
    // Hand-worked: the forward map sends the first image landmark back onto the template.
    const [x, y] = applyAffine(forward, uv[0], uv[1]);
    expect(x).to.be.closeTo(t[0], 1e-9);
    expect(y).to.be.closeTo(t[1], 1e-9);
  });

  it('fitSimilarity picks the mirrored fit for mirrored landmarks (cp2tform similarity)', () => {
    const t = SPHEREFACE_TEMPLATE;
    const uv = Float64Array.from(t, (v, i) => (i % 2 === 0 ? 200 - 2 * v : 2 * v + 5));
    const { inverse } = fitSimilarity(uv, t);
    // u = -2 x + 200, v = 2 y + 5: a reflection, which the non-reflective fit cannot express.
    const expected = [-2, 0, 200, 0, 2, 5];
    inverse.forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-9));
  });

  it('FaceAlign samples the source through the fitted map (bilinear exact on a linear ramp)', () => {
    const w = 250;
    const h = 250;
    const ramp = (u: number, v: number): [number, number, number] => [u, v, 100]; // exact integers: linear
    const src = rgbOf(w, h, ramp);
    const t = SPHEREFACE_TEMPLATE;
    const a = 1.2 * Math.cos(-0.2);
    const b = 1.2 * Math.sin(-0.2);
    const uv = new Float64Array(10);
    for (let i = 0; i < 5; i++) {
      uv[2 * i] = a * t[2 * i] + b * t[2 * i + 1] + 60;
      uv[2 * i + 1] = -b * t[2 * i] + a * t[2 * i + 1] + 50;
    }
    const out = new FaceAlign().apply({ data: src, width: w, height: h }, uv);
    expect([out.width, out.height]).to.deep.equal([96, 112]);
    for (const [x, y] of [
      [0, 0],
      [95, 111],
      [48, 56],
      [30, 80],
    ]) {
      const u = a * x + b * y + 60;
      const v = -b * x + a * y + 50;
      const [r, g] = ramp(u, v);
      const o = (y * 96 + x) * 3;
      expect(out.data[o]).to.be.closeTo(r, 0.51);
      expect(out.data[o + 1]).to.be.closeTo(g, 0.51);
      expect(out.data[o + 2]).to.equal(100);
    }
    expect(() => new FaceAlign().apply({ data: src, width: w, height: h })).to.throw(
      /no five-point landmarks/,
    );
  });

  it('FaceAlign refuses points that coincide, that all lie outside the image, or one far outside', () => {
    const image = { data: new Uint8Array(40 * 30 * 3), width: 40, height: 30 };
    const align = new FaceAlign();
    const same = Float64Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 12 : 7));
    expect(() => align.apply(image, same)).to.throw(
      'FaceAlign: the five face points (12 7 12 7 12 7 12 7 12 7) lie within a pixel of each other',
    );
    const nan = Float64Array.from(SPHEREFACE_TEMPLATE, (v, i) => (i === 3 ? NaN : v / 4));
    expect(() => align.apply(image, nan)).to.throw(
      /^FaceAlign: the face points \(.* NaN .*\) are not 10 finite numbers$/,
    );
    // Spread over 0.8 pixels (RMS 0.4 from their centre): still a speck.
    const speck = Float64Array.from(same, (v, i) => v + (i < 2 ? 0.8 : 0));
    expect(() => align.apply(image, speck)).to.throw(/lie within a pixel of each other/);
    // The template's points shifted right past the 40-pixel width, then one moved back inside.
    const outside = Float64Array.from(SPHEREFACE_TEMPLATE, (v, i) =>
      i % 2 === 0 ? v + 40 : v / 4,
    );
    expect(() => align.apply(image, outside)).to.throw(
      /^FaceAlign: none of the five face points \(70\.29 12\.92 .*\) lies inside the 40x30 image$/,
    );
    const above = Float64Array.from(SPHEREFACE_TEMPLATE, (v, i) => (i % 2 === 0 ? v / 4 : v - 200));
    expect(() => align.apply(image, above)).to.throw(/lies inside the 40x30 image/);
    // Just past the right edge, one moved inside: a face cut by the frame, aligned.
    const partly = Float64Array.from(SPHEREFACE_TEMPLATE, (v, i) => v / 4 + (i % 2 === 0 ? 35 : 0));
    partly[0] = 39;
    expect(align.apply(image, partly).width).to.equal(96);
    // One point farther out than the image's own size: a wrong number, not a face.
    const inside = Float64Array.from(SPHEREFACE_TEMPLATE, (v) => v / 4);
    for (const [k, value, refused] of [
      [2, 1e300, true],
      [3, -31, true],
      [3, -30, false],
      [0, 80, true],
      [0, 79, false],
    ] as const) {
      const points = Float64Array.from(inside);
      points[k] = value;
      if (!refused) expect(align.apply(image, points).width).to.equal(96);
      else {
        expect(() => align.apply(image, points)).to.throw(
          new RegExp(
            `^FaceAlign: face point ${Math.floor(k / 2) + 1} of \\(.*\\) lies farther outside the ` +
              "40x30 image than the image's own size; the points locate no face in it$",
          ),
        );
      }
    }
  });

  it('Normalize gives (x / 255 - mean) / std in channel-first order', () => {
    const images = Uint8Array.from([0, 255, 51, 102, 204, 255]); // 1 image, 1x2, RGB
    const out = new Normalize([0.5, 0.5, 0.2], [0.5, 0.25, 0.4]).apply(images, 1, 1, 2);
    const expected = [
      (0 - 0.5) / 0.5,
      (102 / 255 - 0.5) / 0.5,
      (1 - 0.5) / 0.25,
      (204 / 255 - 0.5) / 0.25,
      (0.2 - 0.2) / 0.4,
      (1 - 0.2) / 0.4,
    ];
    Array.from(out).forEach((v, i) => expect(v).to.be.closeTo(expected[i], 1e-6));
    // The nets' (x - 127.5) / 128, on this scale; their 0..255 mean is refused.
    const nets = new Normalize([0.5, 0.5, 0.5], [128 / 255, 128 / 255, 128 / 255]);
    Array.from(nets.apply(images, 1, 1, 2)).forEach((v, i) =>
      expect(v).to.be.closeTo((images[[0, 3, 1, 4, 2, 5][i]] - 127.5) / 128, 1e-6),
    );
    expect(() => new Normalize([127.5, 127.5, 127.5], [128, 128, 128])).to.throw(
      "Normalize: expected 3 numbers in [-1, 1] for mean (torchvision's scale: pixels / 255) but received [127.5, 127.5, 127.5]",
    );
    expect(() => new Normalize(1 as unknown as number[], [1, 1, 1])).to.throw(/for mean/);
  });

  it('RandomCrop with padding cuts every offset of the zero-padded image, each with the right pixels', () => {
    const src = rgbOf(4, 3, (x, y) => [x + 1, y + 1, 9]);
    const crop = new RandomCrop([3, 4], { padding: 1 });
    const rng = new Random(7);
    const seen = new Set<string>();
    const dst = new Uint8Array(3 * 4 * 3);
    for (let k = 0; k < 200; k++) {
      crop.cropInto(src, 3, 4, dst, rng);
      // Find the offset this crop came from; every pixel must agree with it.
      let match = '';
      for (let top = -1; top <= 1 && !match; top++) {
        for (let left = -1; left <= 1 && !match; left++) {
          let ok = true;
          for (let y = 0; y < 3 && ok; y++) {
            for (let x = 0; x < 4 && ok; x++) {
              const sx = x + left;
              const sy = y + top;
              const inside = sx >= 0 && sx < 4 && sy >= 0 && sy < 3;
              const want = inside ? [sx + 1, sy + 1, 9] : [0, 0, 0];
              ok = want.every((v, c) => dst[(y * 4 + x) * 3 + c] === v);
            }
          }
          if (ok) match = `${top},${left}`;
        }
      }
      expect(match, 'a crop that is no window of the padded image').to.not.equal('');
      seen.add(match);
    }
    expect(seen.size).to.equal(9);
  });
});

describe('applyTransforms', () => {
  const noise = (w: number, h: number, seed: number) => {
    const rng = new Random(seed);
    return {
      width: w,
      height: h,
      data: Uint8Array.from({ length: w * h * 3 }, () => rng.int(256)),
    };
  };
  const oneByOne = (
    image: ReturnType<typeof noise>,
    transforms: (Resize | ResizeToCover | CenterCrop)[],
  ) => transforms.reduce((im, t) => t.apply(im), image);

  it('gives a resize then a centre crop, fused, the bytes of the two one after the other', () => {
    const cases: [number, number, (Resize | ResizeToCover | CenterCrop)[]][] = [
      [250, 250, [new Resize(112), new CenterCrop([112, 96])]], // 5 taps
      [250, 250, [new Resize(96), new CenterCrop([96, 96])]], // 6 taps
      [250, 250, [new Resize(40), new CenterCrop([32, 24])]], // 14 taps, the loop
      [200, 300, [new ResizeToCover(112, 96), new CenterCrop([112, 96])]],
      [61, 47, [new Resize(112), new CenterCrop([112, 96])]], // upscaling: 2 and 3 taps
      [96, 112, [new ResizeToCover(112, 96), new CenterCrop([112, 96])]], // no resize at all
      [250, 120, [new Resize([120, 96]), new CenterCrop([111, 90])]], // only horizontal, odd offsets
      [120, 250, [new Resize([96, 120]), new CenterCrop([90, 111])]], // only vertical
      [250, 250, [new Resize(90), new CenterCrop([112, 96])]], // crop past the edge: black padding
    ];
    cases.forEach(([w, h, transforms], k) => {
      const image = noise(w, h, k);
      const fused = applyTransforms(image, transforms);
      const expected = oneByOne(image, transforms);
      expect([fused.height, fused.width], `case ${k}`).to.deep.equal([
        expected.height,
        expected.width,
      ]);
      expect(Buffer.from(fused.data).equals(Buffer.from(expected.data)), `case ${k}`).to.equal(
        true,
      );
    });
  });

  it('resizeBilinear refuses a window outside the resized image', () => {
    const image = noise(10, 10, 1);
    expect(() => resizeBilinear(image, 8, 8, { top: 1, left: 0, height: 8, width: 8 })).to.throw(
      /window 8x8 at \(1, 0\) is not inside 8x8/,
    );
  });
});

describe('Resize against Pillow itself', () => {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const hasPil = spawnSync(python, ['-c', 'import PIL'], { encoding: 'utf8' }).status === 0;

  it('equals PIL BILINEAR (what torchvision Resize does to PIL images) byte for byte', function () {
    if (!hasPil) this.skip(); // Pillow is a dev-only peer (Debian's python3-pil)
    const cases: [number, number, number][] = [
      [250, 250, 96], // 6 taps
      [250, 250, 112], // 5 taps
      [250, 200, 96],
      [250, 250, 40], // 14 taps
      [60, 90, 112], // upscaling
    ];
    const rng = new Random(42);
    for (const [w, h, size] of cases) {
      const src = Uint8Array.from({ length: w * h * 3 }, (_, i) =>
        i % 3 === 0 ? rng.int(256) : (i * 7) % 256,
      );
      const out = new Resize(size).apply({ data: src, width: w, height: h });
      const script =
        'import sys; from PIL import Image; w, h, ow, oh = map(int, sys.argv[1:5]); ' +
        "im = Image.frombytes('RGB', (w, h), sys.stdin.buffer.read()); " +
        'sys.stdout.buffer.write(im.resize((ow, oh), Image.BILINEAR).tobytes())';
      const pil = spawnSync(
        python,
        ['-c', script, String(w), String(h), String(out.width), String(out.height)],
        {
          input: src,
        },
      );
      expect(pil.status, String(pil.stderr)).to.equal(0);
      expect(pil.stdout.length).to.equal(out.data.length);
      let differ = 0;
      for (let i = 0; i < out.data.length; i++) if (pil.stdout[i] !== out.data[i]) differ++;
      expect(
        differ,
        `${w}x${h} -> ${out.width}x${out.height}: bytes that differ from Pillow`,
      ).to.equal(0);
    }
  });
});

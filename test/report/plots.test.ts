import { expect } from 'chai';
import { Jimp } from 'jimp';
import { summarizeRoc } from '../../lib/eval/roc';
import { printable } from '../../lib/report/plot-canvas';
import { plotFonts } from '../../lib/report/fonts';
import { PALETTE, renderLinePlot } from '../../lib/report/line-plot';
import { renderAccuracyPlot, renderLossPlot, renderRocPlot } from '../../lib/report/training-plots';
import { linearTicks, logTicks, niceRange } from '../../lib/report/ticks';
import { rejection } from '../eval/helpers';

// Width and height straight from the PNG's IHDR chunk (bytes 16..23), independent of any decoder.
function pngSize(buf: Buffer): [number, number] {
  expect([...buf.subarray(0, 8)]).to.deep.equal([137, 80, 78, 71, 13, 10, 26, 10]);
  expect(buf.toString('latin1', 12, 16)).to.equal('IHDR');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

async function pixels(buf: Buffer) {
  const img = await Jimp.read(buf);
  const { data, width, height } = img.bitmap;
  const at = (x: number, y: number) => [
    data[(y * width + x) * 4],
    data[(y * width + x) * 4 + 1],
    data[(y * width + x) * 4 + 2],
  ];
  const dark = (x: number, y: number) => at(x, y).every((v) => v < 110);
  const count = (
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    pred: (x: number, y: number) => boolean,
  ) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pred(x, y)) n++;
    return n;
  };
  return { width, height, at, dark, count };
}

// The plot frame: the longest run of dark pixels in any row (x axis) and column (y axis).
function longestRuns(p: Awaited<ReturnType<typeof pixels>>) {
  let row = 0;
  let col = 0;
  for (let y = 0; y < p.height; y++) {
    let run = 0;
    for (let x = 0; x < p.width; x++) row = Math.max(row, (run = p.dark(x, y) ? run + 1 : 0));
  }
  for (let x = 0; x < p.width; x++) {
    let run = 0;
    for (let y = 0; y < p.height; y++) col = Math.max(col, (run = p.dark(x, y) ? run + 1 : 0));
  }
  return { row, col };
}

const near = (c: readonly number[], [r, g, b]: readonly number[]) =>
  Math.abs(c[0] - r) + Math.abs(c[1] - g) + Math.abs(c[2] - b) < 30;

describe('plots', () => {
  const epochs = Array.from({ length: 12 }, (_, i) => ({
    epoch: i + 1,
    trainLoss: 6 * Math.exp(-i / 4),
    trainAccuracy: 1 - Math.exp(-i / 3),
    testAccuracy: (i + 1) % 4 === 0 ? 0.5 + i / 30 : undefined,
  }));

  it('draws a line plot of the requested size with axes, text and both series', async () => {
    const png = await renderLinePlot({
      title: 'T',
      xLabel: 'x',
      yLabel: 'y',
      width: 500,
      height: 300,
      series: [
        { name: 'up', x: [0, 1, 2], y: [0, 1, 2] },
        { name: 'down', x: [0, 1, 2], y: [2, 1, 0] },
      ],
    });
    expect(pngSize(png)).to.deep.equal([500, 300]);
    const p = await pixels(png);
    const runs = longestRuns(p);
    expect(runs.row).to.be.greaterThan(0.6 * 500); // x axis
    expect(runs.col).to.be.greaterThan(0.5 * 300); // y axis
    // Text: the title band, the rotated y title at the far left, tick labels under the axis.
    expect(p.count(0, 0, 500, 30, p.dark)).to.be.greaterThan(10);
    expect(p.count(0, 60, 24, 240, p.dark)).to.be.greaterThan(5);
    expect(p.count(0, 250, 500, 300, p.dark)).to.be.greaterThan(40);
    // Both series colours, and white background elsewhere.
    expect(p.count(0, 0, 500, 300, (x, y) => near(p.at(x, y), PALETTE[0]))).to.be.greaterThan(200);
    expect(p.count(0, 0, 500, 300, (x, y) => near(p.at(x, y), PALETTE[1]))).to.be.greaterThan(200);
    expect(p.at(499, 299)).to.deep.equal([255, 255, 255]);
  });

  it('draws loss and accuracy by epoch at 640x420', async () => {
    for (const png of [await renderLossPlot(epochs), await renderAccuracyPlot(epochs)]) {
      expect(pngSize(png)).to.deep.equal([640, 420]);
      const p = await pixels(png);
      expect(longestRuns(p).row).to.be.greaterThan(0.6 * 640);
      expect(p.count(0, 0, 640, 420, (x, y) => near(p.at(x, y), PALETTE[0]))).to.be.greaterThan(
        100,
      );
    }
    // The accuracy plot has the second (held-out) series too.
    const p = await pixels(await renderAccuracyPlot(epochs));
    expect(p.count(0, 0, 640, 420, (x, y) => near(p.at(x, y), PALETTE[1]))).to.be.greaterThan(100);
  });

  it('draws ROC curves on linear and log FAR axes', async () => {
    const same = Array.from({ length: 400 }, (_, i) => i % 2 === 0);
    const scores = same.map((s, i) => (s ? 0.3 : 0) + ((i * 7919) % 400) / 400);
    const { points } = summarizeRoc(scores, same);
    for (const logFar of [false, true]) {
      const png = await renderRocPlot([{ name: 'model', points }], { logFar });
      expect(pngSize(png)).to.deep.equal([640, 420]);
      const p = await pixels(png);
      expect(longestRuns(p).col).to.be.greaterThan(0.5 * 420);
      expect(p.count(0, 0, 640, 420, (x, y) => near(p.at(x, y), PALETTE[0]))).to.be.greaterThan(
        100,
      );
    }
  });

  it('places the legend in a corner no line passes through', async () => {
    // y = x crosses the top-right and bottom-left corners with only its two end points.
    const png = await renderLinePlot({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [{ name: 'diagonal', x: [0, 1], y: [0, 1] }],
    });
    const p = await pixels(png);
    // The legend's frame: rows holding a run of 40+ pixels of its exact grey.
    const frameRows = (x0: number, y0: number, x1: number, y1: number) => {
      let rows = 0;
      for (let y = y0; y < y1; y++) {
        let run = 0;
        let best = 0;
        for (let x = x0; x < x1; x++) {
          run = p.at(x, y).every((v) => v === 160) ? run + 1 : 0;
          best = Math.max(best, run);
        }
        if (best >= 40) rows++;
      }
      return rows;
    };
    expect(frameRows(0, 0, 640, 420)).to.equal(2); // top and bottom edges
    expect(frameRows(320, 0, 640, 210)).to.equal(0); // top-right quadrant
    expect(frameRows(0, 210, 320, 420)).to.equal(0); // bottom-left quadrant
  });

  it('spells out characters the bitmap font lacks', async () => {
    const { tick } = await plotFonts();
    expect(printable(tick, 'λ = 5 ± 1')).to.equal('lambda = 5 +/- 1');
    expect(printable(tick, 'a\u4e00b')).to.equal('a?b');
  });

  it('rejects mismatched series and empty input', async () => {
    const bad = { title: '', xLabel: '', yLabel: '', series: [{ name: 's', x: [1], y: [] }] };
    expect((await rejection(renderLinePlot(bad))).message).to.match(/series 's'/);
    expect((await rejection(renderLossPlot([{ epoch: 1 }]))).message).to.match(/trainLoss/);
  });
});

describe('axis ticks', () => {
  it('steps by 1, 2, 2.5 or 5 times a power of ten and covers the range', () => {
    expect(linearTicks(0, 1).map((t) => t.label)).to.deep.equal([
      '0.0',
      '0.2',
      '0.4',
      '0.6',
      '0.8',
      '1.0',
    ]);
    expect(linearTicks(0, 7).map((t) => t.value)).to.deep.equal([0, 2, 4, 6]);
    expect(linearTicks(-1, 1.5).map((t) => t.label)).to.deep.equal([
      '-1.0',
      '-0.5',
      '0.0',
      '0.5',
      '1.0',
      '1.5',
    ]);
  });

  it('keeps integer axes (epochs) on whole numbers', () => {
    expect(linearTicks(0, 15, 6, true).map((t) => t.label)).to.deep.equal(['0', '5', '10', '15']);
    expect(linearTicks(1, 3, 6, true).map((t) => t.label)).to.deep.equal(['1', '2', '3']);
  });

  it('pads a data range so the ticks start and end at its ends', () => {
    for (const [lo, hi, integer] of [
      [2.783, 3.95, false],
      [0.18, 0.98, false],
      [-3.2, 117, false],
      [1, 15, true],
      [0.5, 0.5, false],
    ] as const) {
      const [a, b] = niceRange(lo, hi, integer);
      expect(a).to.be.at.most(lo);
      expect(b).to.be.at.least(hi);
      const ticks = linearTicks(a, b, 6, integer);
      expect(ticks[0].value).to.be.closeTo(a, 1e-12);
      expect(ticks[ticks.length - 1].value).to.be.closeTo(b, 1e-12);
    }
    expect(niceRange(2.783, 3.95)).to.deep.equal([2.5, 4]);
  });

  it('puts log ticks on decades', () => {
    expect(logTicks(1e-4, 1).map((t) => t.label)).to.deep.equal([
      '1e-4',
      '1e-3',
      '0.01',
      '0.1',
      '1',
    ]);
  });
});

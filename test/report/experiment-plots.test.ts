import { expect } from 'chai';
import { Jimp } from 'jimp';
import { renderBarPlot } from '../../lib/report/bar-plot';
import { IDENTITY_COLOURS } from '../../lib/report/colours';
import { bestView, renderFeaturePlot } from '../../lib/report/feature-plot';

async function bitmap(png: Buffer) {
  const image = await Jimp.read(png);
  const { data, width, height } = image.bitmap;
  const at = (x: number, y: number) => {
    const i = (Math.round(y) * width + Math.round(x)) * 4;
    return [data[i], data[i + 1], data[i + 2]];
  };
  return { width, height, at };
}

// Within a few levels of a colour blended at `alpha` over white.
function blendedOverWhite(pixel: number[], colour: readonly number[], alpha: number): boolean {
  return pixel.every((v, k) => Math.abs(v - (255 * (1 - alpha) + colour[k] * alpha)) < 8);
}

describe('experiment plots', () => {
  it('bar plot: bars rise to their values, and a missing value leaves its slot empty', async () => {
    const png = await renderBarPlot({
      title: 'test',
      labels: ['a', 'b', 'c'],
      colors: [[200, 0, 0]],
      panelWidth: 400,
      height: 300,
      panels: [{ title: 'p', yLabel: 'y', values: [0.5, 1, undefined], errors: [0.05, 0, 0] }],
    });
    const p = await bitmap(png);
    expect([p.width, p.height]).to.deep.equal([400, 300]);
    const red = (x: number, y: number) => blendedOverWhite(p.at(x, y), [200, 0, 0], 1);
    // Runs of red pixels along a row: [first x, last x].
    const runs = (y: number) => {
      const found: [number, number][] = [];
      for (let x = 0; x < p.width; x++) {
        if (!red(x, y)) continue;
        if (found.length && found[found.length - 1][1] === x - 1) found[found.length - 1][1] = x;
        else found.push([x, x]);
      }
      return found;
    };
    // Just above the axis (y = 240): bars a and b, of one width, one slot apart; none for c.
    const low = runs(235);
    expect(low).to.have.length(2);
    const [a, b] = low;
    expect(a[1] - a[0]).to.equal(b[1] - b[0]);
    const slot = (a[0] + a[1]) / 2 - (b[0] + b[1]) / 2;
    expect(p.width - 15 - (b[0] + b[1]) / 2).to.be.closeTo(-slot * 1.5, 2); // c's slot is empty
    // Near the top (y = 65) only b, which reaches the axis's top; a stops lower.
    expect(runs(65)).to.deep.equal([b]);
    const top = (x: number) => {
      let y = 235;
      while (red(x, y - 1)) y--;
      return y;
    };
    const ax = Math.round((a[0] + a[1]) / 2);
    expect(top(ax)).to.be.greaterThan(top(Math.round((b[0] + b[1]) / 2)) + 50);
    // a's error bar: dark pixels above its top.
    const dark = (x: number) => p.at(x, top(ax) - 10).every((v) => v < 100);
    expect(dark(ax - 1) || dark(ax) || dark(ax + 1)).to.equal(true);
  });

  it('refuses a panel whose values do not match the labels', async () => {
    let error: Error | undefined;
    try {
      await renderBarPlot({
        title: 't',
        labels: ['a', 'b'],
        panels: [{ title: 'p', yLabel: 'y', values: [1] }],
      });
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).to.match(/Expected 2 values in panel 'p' but received 1/);
  });

  it('feature plot (2-D): each feature at its angle on the circle, in its identity colour', async () => {
    // Identity 0 at 0° (right), identity 1 at 90° (up), with different lengths.
    const features = new Float32Array([5, 0, 0, 0.2]);
    const labels = new Int32Array([0, 1]);
    const size = 300;
    const png = await renderFeaturePlot({
      title: 't',
      dim: 2,
      panels: [{ title: 'one', features, labels }],
      panelSize: size,
    });
    const p = await bitmap(png);
    expect([p.width, p.height]).to.deep.equal([size, size + 34 + 44]);
    // The layout renderFeaturePlot uses: centre and radius of the circle.
    const cx = size / 2;
    const cy = 34 + 40 + (size - 40) / 2;
    const r = (size - 40) / 2 - 4;
    expect(blendedOverWhite(p.at(cx + r - 1, cy - 1), IDENTITY_COLOURS[0], 0.6)).to.equal(true);
    expect(blendedOverWhite(p.at(cx + 1, cy - r + 1), IDENTITY_COLOURS[1], 0.6)).to.equal(true);
    // Nothing at the left and bottom of the circle but its outline's colour.
    expect(blendedOverWhite(p.at(cx - r + 2, cy - 2), IDENTITY_COLOURS[0], 0.6)).to.equal(false);
  });

  it('feature plot (3-D): the view faces the most class centres', () => {
    // Three centres in the upper hemisphere around +z and one at -z: a view from +z-ish sees 3.
    const view = bestView([
      [0.3, 0, 0.95],
      [-0.3, 0.1, 0.95],
      [0, -0.3, 0.95],
      [0, 0, -1],
    ]);
    expect(view[2]).to.be.greaterThan(0.8);
    expect(Math.hypot(...view)).to.be.closeTo(1, 1e-12);
  });

  it('refuses features that do not match the labels and dim', async () => {
    let error: Error | undefined;
    try {
      await renderFeaturePlot({
        title: 't',
        dim: 3,
        panels: [{ title: 'x', features: new Float32Array(4), labels: new Int32Array(2) }],
      });
    } catch (caught) {
      error = caught as Error;
    }
    expect(error?.message).to.match(/Expected 2 x 3 features in panel 'x' but received 4 values/);
  });
});

// A white RGBA bitmap with the few drawing operations plots need, on top of a Jimp image (which
// supplies bitmap-font text and PNG encoding).
import { Jimp, measureText, measureTextHeight, type JimpInstance } from 'jimp';
import type { Rgb8 } from './colours';
import type { BitmapFont } from './fonts';

// Spellings for characters the bundled bitmap fonts may lack (they cover Latin-1 at best).
const FALLBACK: Record<string, string> = {
  λ: 'lambda',
  θ: 'theta',
  '±': '+/-',
  '→': '->',
  '≤': '<=',
  '≥': '>=',
  '×': 'x',
  '–': '-',
  '—': '-',
};

/** The text with every character the font lacks spelled out, or '?' when there is no spelling. */
export function printable(font: BitmapFont, text: string): string {
  let out = '';
  for (const ch of text) {
    if (ch in font.chars || ch === ' ' || ch === '\n') out += ch;
    else
      out += [...(FALLBACK[ch] ?? '?')].every((c) => c in font.chars) ? (FALLBACK[ch] ?? '?') : '?';
  }
  return out;
}

export class PlotCanvas {
  private readonly image: JimpInstance;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.image = new Jimp({ width, height, color: 0xffffffff });
  }

  private blend(x: number, y: number, [r, g, b]: Rgb8, alpha = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const d = this.image.bitmap.data;
    const i = (y * this.width + x) * 4;
    d[i] = Math.round(d[i] * (1 - alpha) + r * alpha);
    d[i + 1] = Math.round(d[i + 1] * (1 - alpha) + g * alpha);
    d[i + 2] = Math.round(d[i + 2] * (1 - alpha) + b * alpha);
    d[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, color: Rgb8): void {
    for (let j = Math.round(y); j < Math.round(y + h); j++) {
      for (let i = Math.round(x); i < Math.round(x + w); i++) this.blend(i, j, color);
    }
  }

  strokeRect(x: number, y: number, w: number, h: number, color: Rgb8): void {
    this.line(x, y, x + w, y, color);
    this.line(x + w, y, x + w, y + h, color);
    this.line(x + w, y + h, x, y + h, color);
    this.line(x, y + h, x, y, color);
  }

  /**
   * A line `width` pixels wide: samples every half pixel along it and stamps a square brush,
   * which is simple and looks even at every slope. `dash` = [on, off] lengths in pixels.
   */
  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    color: Rgb8,
    width = 1,
    dash?: [number, number],
  ): void {
    const length = Math.hypot(x1 - x0, y1 - y0);
    const steps = Math.max(1, Math.ceil(length * 2));
    const lo = -Math.floor((width - 1) / 2);
    const hi = lo + width - 1;
    for (let s = 0; s <= steps; s++) {
      const along = (s / steps) * length;
      if (dash && along % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      for (let dy = lo; dy <= hi; dy++)
        for (let dx = lo; dx <= hi; dx++) this.blend(x + dx, y + dy, color);
    }
  }

  /** A filled disc of radius `r` centred on (x, y), blended at `alpha` (scatter plots). */
  dot(x: number, y: number, r: number, color: Rgb8, alpha = 1): void {
    for (let j = Math.floor(y - r); j <= Math.ceil(y + r); j++) {
      for (let i = Math.floor(x - r); i <= Math.ceil(x + r); i++) {
        if ((i - x) ** 2 + (j - y) ** 2 <= r * r) this.blend(i, j, color, alpha);
      }
    }
  }

  textWidth(font: BitmapFont, text: string): number {
    return measureText(font, printable(font, text));
  }

  textHeight(font: BitmapFont, text: string): number {
    return measureTextHeight(font, printable(font, text), 10000);
  }

  /** Text whose top-left corner is (x, y), or aligned by `align` around x. */
  text(
    font: BitmapFont,
    x: number,
    y: number,
    text: string,
    align: 'left' | 'center' | 'right' = 'left',
  ): void {
    const w = this.textWidth(font, text);
    const left = align === 'left' ? x : align === 'center' ? x - w / 2 : x - w;
    this.image.print({ font, x: Math.round(left), y: Math.round(y), text: printable(font, text) });
  }

  /** Text reading bottom to top, centred on (cx, cy): a y-axis title. */
  verticalText(font: BitmapFont, cx: number, cy: number, text: string): void {
    const w = Math.ceil(this.textWidth(font, text));
    const h = Math.ceil(this.textHeight(font, text));
    const tmp = new Jimp({ width: w, height: h, color: 0xffffffff });
    tmp.print({ font, x: 0, y: 0, text: printable(font, text) });
    const src = tmp.bitmap.data;
    const left = Math.round(cx - h / 2);
    const top = Math.round(cy - w / 2);
    // Rotate a quarter turn counter-clockwise: (tx, ty) -> (ty, w - 1 - tx).
    for (let ty = 0; ty < h; ty++) {
      for (let tx = 0; tx < w; tx++) {
        const i = (ty * w + tx) * 4;
        const darkness = 1 - (src[i] + src[i + 1] + src[i + 2]) / (3 * 255);
        if (darkness > 0) this.blend(left + ty, top + (w - 1 - tx), [0, 0, 0], darkness);
      }
    }
  }

  png(): Promise<Buffer> {
    return this.image.getBuffer('image/png');
  }
}

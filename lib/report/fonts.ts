// Bitmap fonts shipped inside jimp's npm package (Open Sans, BMFont + PNG pages), so plots get
// text on a machine without any system fonts.
import { loadFont } from 'jimp';
import { SANS_12_BLACK, SANS_14_BLACK, SANS_16_BLACK } from 'jimp/fonts';

export type BitmapFont = Awaited<ReturnType<typeof loadFont>>;

export interface PlotFonts {
  tick: BitmapFont;
  label: BitmapFont;
  title: BitmapFont;
}

let cached: Promise<PlotFonts> | undefined;

export function plotFonts(): Promise<PlotFonts> {
  cached ??= Promise.all([
    loadFont(SANS_12_BLACK),
    loadFont(SANS_14_BLACK),
    loadFont(SANS_16_BLACK),
  ])
    .then(([tick, label, title]) => ({ tick, label, title }))
    .catch((e: unknown) => {
      cached = undefined;
      throw new Error(`Could not load jimp's bundled fonts: ${(e as Error).message}`);
    });
  return cached;
}

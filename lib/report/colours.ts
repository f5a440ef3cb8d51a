// Plot colours, in a module of their own so that code choosing colours does not load the
// drawing (jimp).

/** A colour as 0..255 bytes. */
export type Rgb8 = readonly [number, number, number];

/** Ten colours far apart (matplotlib's tab10), one per identity. */
export const IDENTITY_COLOURS: readonly Rgb8[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];

// jimp publishes its font paths as the subpath export 'jimp/fonts', which this package's
// moduleResolution ("node") cannot see the types of; Node resolves it at run time.
declare module 'jimp/fonts' {
  export const SANS_10_BLACK: string;
  export const SANS_12_BLACK: string;
  export const SANS_14_BLACK: string;
  export const SANS_16_BLACK: string;
}

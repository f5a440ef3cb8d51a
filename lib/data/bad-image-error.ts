// The error for images that cannot be decoded when they are not to be skipped: it names the
// first, counts the rest, and says what to do in the caller's terms (the library's options, or
// the flags of the CLI command at hand).
import type { SkippedImage } from './image-cache';
import { isOverPixelLimit } from './image-decoder';
import { isAlignmentFailure } from './transforms/face-align';

/** How the user leaves bad images out, and what the pixel limit is called. */
export interface BadImageTerms {
  /** How to leave bad images out; undefined where there is no way to (the hint is dropped). */
  skip?: string;
  /** The pixel limit's name, for images over it. */
  limit: string;
}

export const LIBRARY_TERMS: BadImageTerms = {
  skip: "pass onBadImage: 'skip' to leave bad images out",
  limit: 'maxPixels',
};

export class BadImageError extends Error {
  override name = 'BadImageError';

  constructor(
    readonly images: readonly SkippedImage[],
    readonly terms: BadImageTerms = LIBRARY_TERMS,
  ) {
    const first = images[0];
    const more = images.length > 1 ? ` (and ${images.length - 1} more bad images)` : '';
    const hints = [
      ...(images.some((i) => isOverPixelLimit(i.reason))
        ? [`raise ${terms.limit} to accept larger images`]
        : []),
      ...(terms.skip ? [terms.skip] : []),
    ];
    // The image decoded, but its face points did not fit: "cannot decode" would mislead.
    const verb = isAlignmentFailure(first.reason) ? 'cannot align' : 'cannot decode';
    super(`${verb} ${first.path}: ${first.reason}${more}${hints.map((h) => `; ${h}`).join('')}`);
  }

  /** The same error, saying what to do in other terms. */
  withTerms(terms: BadImageTerms): BadImageError {
    return new BadImageError(this.images, terms);
  }
}

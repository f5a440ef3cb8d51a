// The error for images that cannot be decoded when they are not to be skipped: it names the
// first, counts the rest, and says how to skip them in the caller's terms (an option of the
// library, a flag of the CLI; none where the caller cannot skip).
import type { SkippedImage } from './image-cache';

export class BadImageError extends Error {
  override name = 'BadImageError';

  constructor(
    readonly images: readonly SkippedImage[],
    readonly hint = "pass onBadImage: 'skip' to leave bad images out",
  ) {
    const first = images[0];
    const more = images.length > 1 ? ` (and ${images.length - 1} more bad images)` : '';
    super(`cannot decode ${first.path}: ${first.reason}${more}${hint ? `; ${hint}` : ''}`);
  }

  /** The same error, telling the user how to skip in other terms ('' for no advice). */
  withHint(hint: string): BadImageError {
    return new BadImageError(this.images, hint);
  }
}

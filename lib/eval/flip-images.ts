// Horizontal mirror of uint8 n x height x width x 3 images (the evaluator's "flipped" copy).

export function flipImagesHorizontally(
  images: Uint8Array,
  n: number,
  height: number,
  width: number,
  out: Uint8Array = new Uint8Array(n * height * width * 3),
): Uint8Array {
  const row = width * 3;
  if (images.length < n * height * row || out.length < n * height * row) {
    throw new Error(
      `Expected at least ${n * height * row} bytes for ${n} images of ${height}x${width}x3`,
    );
  }
  for (let r = 0; r < n * height; r++) {
    const base = r * row;
    for (let x = 0; x < width; x++) {
      const src = base + x * 3;
      const dst = base + (width - 1 - x) * 3;
      out[dst] = images[src];
      out[dst + 1] = images[src + 1];
      out[dst + 2] = images[src + 2];
    }
  }
  return out;
}

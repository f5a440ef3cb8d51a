// The timing benches' input: random pixels, labels and flips from a fixed seed (an LCG), so every
// run, rank and side of a comparison sees the same kind of batch.
export interface RandomBatch {
  images: Uint8Array; // n x height x width x 3
  labels: Int32Array;
  flip: Uint8Array;
}

export function randomBatch(
  n: number,
  height: number,
  width: number,
  classes: number,
): RandomBatch {
  let state = 12345;
  const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const images = new Uint8Array(n * height * width * 3).map(() => next() & 255);
  const labels = Int32Array.from({ length: n }, () => next() % classes);
  const flip = Uint8Array.from({ length: n }, () => next() & 1);
  return { images, labels, flip };
}

// Which images of each batch a rank of a distributed run trains on. Every rank walks the same
// seeded epoch order; batch b's positions b*batchSize.. are split into worldSize contiguous parts
// whose sizes differ by at most one, rank 0's first. The ranks' parts together are exactly the
// batch one process would train on, so a step over every rank sees the same images.

/** Positions `start..start+n-1` of the epoch order that `rank` trains on in batch `b`. */
export function rankBatchRange(
  b: number,
  batchSize: number,
  total: number,
  rank: number,
  worldSize: number,
): { start: number; n: number } {
  const batchStart = b * batchSize;
  const batchN = Math.min(batchSize, total - batchStart);
  const base = Math.floor(batchN / worldSize);
  const extra = batchN % worldSize;
  return {
    start: batchStart + rank * base + Math.min(rank, extra),
    n: base + (rank < extra ? 1 : 0),
  };
}

/**
 * Batches per epoch of `total` images. Every rank needs an image in every batch, so a last batch
 * of fewer images than ranks is left out (with one rank: a last, short batch is kept unless
 * dropLast).
 */
export function batchesPerEpoch(
  total: number,
  batchSize: number,
  worldSize: number,
  dropLast: boolean,
): number {
  const rest = total % batchSize;
  return Math.floor(total / batchSize) + (!dropLast && rest >= Math.max(1, worldSize) ? 1 : 0);
}

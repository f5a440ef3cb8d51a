// jpeg-js allocates every 8x8 coefficient block of an image as its own `new Int32Array(64)`:
// about 1,500 for a 250x250 face, each a separate off-heap backing store for V8 to create and
// later sweep, which is a quarter of the decoding time. While one (synchronous) decode runs,
// we hand it zeroed 64-element views of one reused buffer instead. Only `new Int32Array(64)`
// is pooled; any other size gets a real Int32Array, and the pool grows for the next image when
// an image needs more blocks than it holds. Each thread (worker) has its own globals and pool.

const RealInt32Array = Int32Array;
const MAX_BLOCKS = 1 << 18; // 64 MiB of blocks at most; beyond that, plain allocations

let pool = new RealInt32Array(64 * 4096);
let used = 0;
let wanted = 0;

function PooledInt32Array(this: unknown, ...args: unknown[]): Int32Array {
  if (args.length === 1 && args[0] === 64) {
    wanted += 64;
    if (used + 64 <= pool.length) {
      const view = pool.subarray(used, used + 64);
      used += 64;
      return view;
    }
  }
  return new (RealInt32Array as unknown as new (...a: unknown[]) => Int32Array)(...args);
}
PooledInt32Array.prototype = RealInt32Array.prototype;

/** Runs a synchronous `decode` with pooled coefficient blocks; restores Int32Array after. */
export function withPooledBlocks<T>(decode: () => T): T {
  pool.fill(0, 0, used); // decoders rely on new blocks being zero
  used = 0;
  wanted = 0;
  const globals = globalThis as { Int32Array: typeof Int32Array };
  globals.Int32Array = PooledInt32Array as unknown as typeof Int32Array;
  try {
    return decode();
  } finally {
    globals.Int32Array = RealInt32Array;
    if (wanted > pool.length && wanted <= 64 * MAX_BLOCKS) {
      pool = new RealInt32Array(wanted);
      used = 0;
    }
  }
}
